"""Orderly: the Starlette application and its command line.

uv run server.py [serve]          run the API (embedded PostgreSQL when DATABASE_URL is unset)
uv run server.py migrate          apply the database migrations
uv run server.py create-admin     create a new administrator account
uv run server.py promote          make an existing account an administrator
uv run server.py seed-demo        load the demo catalogue and accounts into an empty database
uv run server.py unlock           clear the sign-in throttle counters of an email or an address
uv run server.py expire-orders    cancel the orders left unpaid past PAYMENT_TIMEOUT (one pass)
uv run server.py export-schema    write schema.graphql and openapi.json from the code
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from auth.passwords import Passwords
from db import migrate
from db.embedded import embedded_url, start_embedded
from db.engine import create_engine, create_read_session_factory, create_session_factory
from db.failures import log_retried_failure
from resolvers.payment_provider import provider_from_settings
from resolvers.webhook_dispatch import run_dispatcher
from rest.docs import docs_routes
from rest.routes import rest_routes
from schema.graphiql import graphiql_routes
from schema.live import LiveEndpoint
from schema.view import GraphQLView
from settings import Settings, SettingsError, load_settings
from telemetry import tracing
from web.cors import CorsMiddleware
from web.cross_site import CrossSiteMiddleware
from web.draining import serve
from web.failures import FailureMiddleware
from web.health import healthz, readyz
from web.logs import configure_logging
from web.metrics import metrics, sample_process_regularly
from web.middleware import BodyLimitMiddleware, RequestIdMiddleware
from web.problems import routing_problem
from web.security_headers import SecurityHeadersMiddleware
from web.sign_in_lane import SignInLane
from web.state import AppState
from web.stripe_webhook import stripe_webhook
from web.supervisor import WorkerStartupError, supervise

log = logging.getLogger("orderly")
PROJECT_ROOT = Path(__file__).resolve().parent
# The routes that read the session cookies: guarded against cross-site requests, never cached.
PRIVATE_PREFIXES = ("/graphql", "/api")


def create_app(
    settings: Settings, *, database_url: str, passwords: Passwords | None = None
) -> Starlette:
    """The ASGI application for `settings`, talking to the database at `database_url`."""
    traces = tracing.configure(settings)  # before the engines, whose statements it traces
    engine = create_engine(settings, database_url)
    passwords = passwords or Passwords()
    state = AppState(
        settings=settings,
        engine=engine,
        probe=create_engine(settings, database_url, pool_size=1, name="probe"),
        sessions=create_session_factory(engine),
        reads=create_read_session_factory(engine),
        passwords=passwords,
        sign_in_lane=SignInLane(settings, database_url, passwords),
        payments=provider_from_settings(settings),
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _mark_shutdown_on_signal(state)
        housekeeping = asyncio.create_task(_housekeeping(state))
        sampler = asyncio.create_task(sample_process_regularly())
        expiry = _expiry_sweeper(state)
        # Every worker sends due webhook deliveries; they claim rows, never the same one.
        dispatcher = asyncio.create_task(run_dispatcher(state.sessions, settings))
        yield
        state.shutting_down = True
        housekeeping.cancel()
        sampler.cancel()
        dispatcher.cancel()
        if expiry is not None:
            expiry.cancel()
        await state.close()
        tracing.shutdown()

    graphql = GraphQLView(state)
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        # Only for a scraper holding METRICS_TOKEN; METRICS_PORT serves them without one.
        *([Route("/metrics", metrics, methods=["GET"])] if settings.metrics_token else []),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", LiveEndpoint(graphql.schema, state)),  # subscriptions
        # Outside PRIVATE_PREFIXES: no cookies, no cross-site rule; Stripe's signature instead.
        Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
        *rest_routes(),
        *(docs_routes(settings) if settings.api_docs else []),
        *(graphiql_routes() if settings.graphiql else []),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            *_tracing_middleware(traces),
            Middleware(RequestIdMiddleware, slow_request_ms=settings.slow_request_ms),
            Middleware(SecurityHeadersMiddleware, private_prefixes=PRIVATE_PREFIXES),
            Middleware(
                CorsMiddleware, allowed_origins=settings.allowed_origins, prefixes=PRIVATE_PREFIXES
            ),
            Middleware(FailureMiddleware),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
            Middleware(
                CrossSiteMiddleware,
                allowed_origins=settings.allowed_origins,
                protected_prefixes=PRIVATE_PREFIXES,
                routes=routes,
            ),
        ],
        exception_handlers={ClientDisconnect: _gone, HTTPException: routing_problem},
        lifespan=lifespan,
    )
    app.state.orderly = state
    return app


def _tracing_middleware(provider: Any) -> list[Middleware]:
    """With tracing on, a span for each HTTP request, around everything else."""
    if provider is None:
        return []
    middleware, options = tracing.asgi_middleware(provider)
    return [Middleware(middleware, **options)]


HOUSEKEEPING_INTERVAL = 600.0


async def _housekeeping(state: AppState) -> None:
    """Drop expired throttle counters and login sessions now and then (any worker may)."""
    from datetime import UTC, datetime

    from auth.sessions import prune_expired_sessions
    from auth.throttle import prune

    while True:
        try:
            async with state.sessions.begin() as db:
                await prune(db, now=datetime.now(UTC))
                await prune_expired_sessions(db)
        except Exception as error:  # a failed sweep is retried at the next interval
            log_retried_failure(log, "housekeeping", error)
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)


def _expiry_sweeper(state: AppState) -> asyncio.Task[None] | None:
    """With a payment timeout, this worker's sweeper of unpaid orders (every worker runs
    one; they share the due orders through row locks)."""
    from resolvers.payments import run_expiry_sweeper

    minutes = state.settings.payment_timeout
    if minutes <= 0:
        return None
    return asyncio.create_task(
        run_expiry_sweeper(state.sessions, state.payments, timeout_minutes=minutes)
    )


async def _gone(request: Request, exc: Exception) -> Response:
    """The client hung up mid-request; nobody is left to answer."""
    log.info("client disconnected before the request was read")
    return Response(status_code=499)


def _mark_shutdown_on_signal(state: AppState) -> None:
    """Let /readyz answer 503 as soon as the server is asked to stop."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(
            received: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], Any] = previous,
        ) -> None:
            state.shutting_down = True
            previous(received, frame)

        with contextlib.suppress(ValueError):  # not the main thread (tests)
            signal.signal(signum, handler)


# ---------------------------------------------------------------------------------------------
# Start-up


def _dev_secret(data_dir: Path) -> str:
    """The development secret, generated once and kept with the local data."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret + "\n")
    return secret


def settings_from_env() -> Settings:
    environ = os.environ
    secret: str | None = None
    if environ.get(
        "ORDERLY_ENV", "development"
    ).strip().lower() != "production" and not environ.get("SECRET_KEY"):
        secret = _dev_secret(Path(environ.get("ORDERLY_DATA_DIR", ".orderly")))
    return load_settings(environ, secret_key=secret)


def app_from_env() -> Starlette:
    """uvicorn's application factory, called in every worker process."""
    settings = settings_from_env()
    configure_logging(settings.log_level, json_lines=settings.is_production)
    if settings.database_url is None:
        raise SettingsError("DATABASE_URL is unset: start the server with `server.py serve`")
    return create_app(settings, database_url=settings.database_url)


def _database(settings: Settings) -> tuple[str, bool]:
    """The database URL to use, starting the embedded server when none is configured."""
    if settings.database_url:
        return settings.database_url, False
    started = time.perf_counter()
    server = start_embedded(settings.data_dir.resolve() / "pgdata")
    url = embedded_url(server)
    log.info(
        "embedded PostgreSQL ready in %.2fs, data in %s",
        time.perf_counter() - started,
        settings.data_dir / "pgdata",
    )
    return url, True


def _session_url(settings: Settings, url: str) -> str:
    """Where migrations run: PostgreSQL itself (DATABASE_DIRECT_URL) when DATABASE_URL is a
    transaction-pooling PgBouncer, which cannot keep a session's state between statements."""
    return settings.database_direct_url or url


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


async def _seed(settings: Settings, database_url: str) -> None:
    from resolvers.demo import seed_demo_data

    engine = create_engine(settings, database_url)
    try:
        async with create_session_factory(engine).begin() as session:
            accounts = await seed_demo_data(session, Passwords())
    finally:
        await engine.dispose()
    credentials = settings.data_dir / "demo-credentials.txt"
    if not accounts:
        log.info("database already has accounts; no demo data added")
        if credentials.exists():
            log.info("demo sign-in details are in %s", credentials)
        return
    lines = [f"{a.role.lower():6} {a.email} / {a.password}" for a in accounts]
    for line in lines:
        log.info("demo account: %s", line)
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.touch(mode=0o600)
    credentials.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------------
# Commands


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    url, embedded = _database(settings)
    migrate.upgrade(_session_url(settings, url))
    if embedded:
        _run(_seed(settings, url))
    os.environ["DATABASE_URL"] = url
    log.info(
        "serving on http://%s:%d with %d worker(s)", settings.host, settings.port, settings.workers
    )
    options: dict[str, Any] = {
        "app": "server:app_from_env",
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.shutdown_timeout),
        "server_header": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "http": "web.http_protocol:HeaderLimitedProtocol",
        "h11_max_incomplete_event_size": settings.max_header_bytes,
    }
    drain = settings.shutdown_drain
    metrics_dir = _serve_metrics(settings)
    try:
        if settings.workers > 1:
            supervise(
                settings.host,
                settings.port,
                settings.workers,
                options,
                drain=drain,
                metrics_dir=metrics_dir,
            )
        elif not serve(uvicorn.Config(**options), drain=drain):
            return 1
    except WorkerStartupError as error:
        log.error("%s", error)
        return 1
    finally:
        _ignore_stop_signals()
    log.info("stopped")
    return 0


def _serve_metrics(settings: Settings) -> str | None:
    """With metrics on (METRICS_PORT or METRICS_TOKEN) and several workers, the directory
    where the workers write their values (PROMETHEUS_MULTIPROC_DIR, or a temporary one
    removed at exit), emptied now. With METRICS_PORT, serve them there from this process."""
    import atexit
    import shutil
    import tempfile

    from prometheus_client import REGISTRY, start_http_server

    from telemetry.metrics import gathering_registry, prepare_directory

    if not (settings.metrics_port or settings.metrics_token):
        return None
    folder: str | None = None
    if settings.workers > 1:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
            prefix="orderly-metrics-"
        )
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        prepare_directory(Path(folder))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder  # read by the workers as they start
    if settings.metrics_port:
        registry = gathering_registry(folder) if folder else REGISTRY
        start_http_server(settings.metrics_port, addr=settings.host, registry=registry)
        log.info("metrics on http://%s:%d/metrics", settings.host, settings.metrics_port)
    return folder


def _ignore_stop_signals() -> None:
    """Once the server has stopped, a late SIGINT or SIGTERM (a terminal's Ctrl-C comes
    directly and again through `uv run`) must not cut short the embedded database's shutdown
    at exit, nor kill the interpreter as it finalizes. Unlike a Python handler, SIG_IGN stays
    in force to the very end, and the `pg_ctl stop` run at exit inherits it."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    url, _ = _database(settings)
    migrate.upgrade(_session_url(settings, url), args.revision)
    log.info("database migrated to %s", args.revision)
    return 0


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    url, _ = _database(settings)
    migrate.upgrade(_session_url(settings, url))
    _run(_seed(settings, url))
    return 0


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from domain.errors import BusinessError
    from resolvers.admin_bootstrap import create_admin

    password = os.environ.get("ORDERLY_ADMIN_PASSWORD")
    url, _ = _database(settings)
    migrate.upgrade(_session_url(settings, url))

    async def create(session: Any) -> Any:
        return await create_admin(
            session, Passwords(), email=args.email, name=args.name, password=password
        )

    if password is None and sys.stdin.isatty():
        password = getpass.getpass("Password for the new administrator: ")
    try:
        user = _run(_in_transaction(settings, url, create))
    except BusinessError as error:
        return _refused(error)
    print(f"created administrator {_printable(user.email)} (id {user.id})")
    return 0


async def _in_transaction(
    settings: Settings, url: str, work: Callable[[Any], Coroutine[Any, Any, Any]]
) -> Any:
    """Run a command's `work(session)` in one transaction on an engine of its own."""
    engine = create_engine(settings, url)
    try:
        async with create_session_factory(engine).begin() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _refused(error: Any) -> int:
    """Print a command's business errors; the exit status of a refusal."""
    for problem in error.problems:
        print(f"error: {_printable(problem.message)}", file=sys.stderr)
    return 2


def _printable(value: str, limit: int = 200) -> str:
    """`value` safe for a terminal: non-printable characters escaped, long text cut."""
    shown = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in value[:limit])
    return shown + ("..." if len(value) > limit else "")


def _describe(account: Any) -> list[str]:
    """What an operator sees of an account before promoting it."""
    email = _printable(account.email)
    if not account.email.isascii():
        email += f"  (as code points: {ascii(account.email)})"
    lines = [
        f"id:       {account.id}",
        f"email:    {email}",
        f"name:     {_printable(account.name)}",
        f"role:     {account.role}",
        f"created:  {account.created_at.isoformat(timespec='seconds')}",
        f"recent sign-ins (newest first, at most {len(account.sign_ins) or 'none'}):",
    ]
    for sign_in in account.sign_ins:
        lines.append(
            f"  {sign_in.started_at.isoformat(timespec='seconds')}"
            f"  from {_printable(sign_in.address or 'unknown address')}"
            f"  {_printable(sign_in.user_agent or 'unknown user agent')}"
            + ("  (ended)" if sign_in.ended else "")
        )
    if not account.sign_ins:
        lines.append("  none")
    return lines


def cmd_promote(settings: Settings, args: argparse.Namespace) -> int:
    from domain.errors import BusinessError
    from resolvers.admin_bootstrap import AccountSummary, find_account, promote_to_admin

    url, _ = _database(settings)
    migrate.upgrade(_session_url(settings, url))

    async def find(session: Any) -> AccountSummary | None:
        return await find_account(session, email=args.email)

    account: AccountSummary | None = _run(_in_transaction(settings, url, find))
    if account is None:
        print(f"error: no account has the email {_printable(args.email)}", file=sys.stderr)
        return 2
    print("\n".join(_describe(account)))
    if account.role == "ADMIN":
        print("already an administrator; nothing changed")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("error: not confirmed; run again with --yes to promote", file=sys.stderr)
            return 2
        answer = input(f"Make account {account.id} an administrator? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("not promoted")
            return 1

    async def promote(session: Any) -> None:
        await promote_to_admin(session, user_id=account.id, email=account.email)

    try:
        _run(_in_transaction(settings, url, promote))
    except BusinessError as error:
        return _refused(error)
    print(f"promoted account {account.id} to administrator; its sessions were ended")
    return 0


def cmd_unlock(settings: Settings, args: argparse.Namespace) -> int:
    import ipaddress

    from resolvers.auth import unlock

    if args.address is not None:
        try:
            ipaddress.ip_address(args.address)
        except ValueError:
            print(f"error: not an IP address: {args.address}", file=sys.stderr)
            return 2
    url, _ = _database(settings)
    migrate.upgrade(_session_url(settings, url))

    async def clear(session: Any) -> int:
        return await unlock(db=session, email=args.email, address=args.address)

    cleared: int = _run(_in_transaction(settings, url, clear))
    print(f"cleared {cleared} throttle counter{'' if cleared == 1 else 's'}")
    return 0


def cmd_expire_orders(settings: Settings, args: argparse.Namespace) -> int:
    from resolvers.payments import expire_unpaid_orders

    minutes = settings.payment_timeout
    if minutes <= 0:
        print("error: PAYMENT_TIMEOUT is 0, so no order expires", file=sys.stderr)
        return 2
    url, _ = _database(settings)

    async def sweep() -> int:
        engine = create_engine(settings, url)
        provider = provider_from_settings(settings)
        try:
            sessions = create_session_factory(engine)
            return await expire_unpaid_orders(sessions, provider, timeout_minutes=minutes)
        finally:
            await engine.dispose()
            if provider is not None:
                await provider.close()

    expired: int = _run(sweep())
    print(f"expired {expired} unpaid order{'' if expired == 1 else 's'}")
    return 0


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from rest.openapi import openapi_document
    from schema import sdl

    (PROJECT_ROOT / "schema.graphql").write_text(sdl())
    (PROJECT_ROOT / "openapi.json").write_text(json.dumps(openapi_document(), indent=2) + "\n")
    print("wrote schema.graphql and openapi.json")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="server.py",
        description="Orderly order-management API. Configuration comes from the environment "
        "(see README.md); with DATABASE_URL unset an embedded PostgreSQL is used.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the API server (the default)")
    serve.set_defaults(handler=cmd_serve)
    migrate_cmd = commands.add_parser("migrate", help="apply the database migrations")
    migrate_cmd.add_argument("--revision", default="head", help="target revision (default: head)")
    migrate_cmd.set_defaults(handler=cmd_migrate)
    admin = commands.add_parser(
        "create-admin",
        help="create a new administrator account",
        description="Creates a new account with the ADMIN role. The password comes from "
        "ORDERLY_ADMIN_PASSWORD when set, otherwise from a prompt. When an account with the "
        "email (compared case- and width-insensitively) already exists, nothing changes and "
        "the command fails: see `promote`.",
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--name", required=True)
    admin.set_defaults(handler=cmd_create_admin)
    promote = commands.add_parser(
        "promote",
        help="make an existing account an administrator",
        description="Shows the account with the email (id, name, creation time and recent "
        "sign-ins: when, from which address, with which user agent), asks for confirmation, "
        "then gives it the ADMIN role and ends its sessions.",
    )
    promote.add_argument("--email", required=True)
    promote.add_argument("--yes", action="store_true", help="promote without asking")
    promote.set_defaults(handler=cmd_promote)
    seed = commands.add_parser(
        "seed-demo", help="add demo products and accounts to an empty database"
    )
    seed.set_defaults(handler=cmd_seed_demo)
    unlock = commands.add_parser(
        "unlock",
        help="clear the sign-in throttle counters of an email or a client address",
        description="Clears every failed sign-in counter of the account (from any address), "
        "or of the client address (on any account, and its registrations). An IPv6 address "
        "clears its /64 network, the unit it is counted by.",
    )
    target = unlock.add_mutually_exclusive_group(required=True)
    target.add_argument("--email", help="the account's email")
    target.add_argument("--address", help="a client IP address")
    unlock.set_defaults(handler=cmd_unlock)
    expire = commands.add_parser(
        "expire-orders",
        help="cancel and restock the orders left unpaid past PAYMENT_TIMEOUT, once",
        description="One pass of the sweeper every worker runs: each PENDING order unpaid for "
        "longer than PAYMENT_TIMEOUT minutes is cancelled (note 'payment timeout'), its stock "
        "restored and its Stripe PaymentIntent cancelled. For deployments that prefer cron; "
        "safe to run beside the servers and other passes.",
    )
    expire.set_defaults(handler=cmd_expire_orders)
    export = commands.add_parser(
        "export-schema", help="write schema.graphql and openapi.json from the code"
    )
    export.set_defaults(handler=cmd_export_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = getattr(args, "handler", cmd_serve)
    try:
        settings = settings_from_env()
    except SettingsError as error:
        print(f"orderly: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, json_lines=settings.is_production)
    result: int = handler(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
