"""Signing up, signing in and out, refreshing sessions and changing passwords."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth import sessions as store
from auth import throttle
from auth.passwords import Passwords
from auth.tokens import IssuedTokens, read_access_token
from auth.viewer import Viewer
from db.driver import fetch_row
from db.models import User
from domain.codes import ErrorCode
from domain.errors import BusinessError, Problem, Unauthenticated
from resolvers.accounts import (
    MAX_EMAIL_LENGTH,
    email_key,
    email_problems,
    name_problems,
    normalize_email,
    password_problems,
)
from settings import Settings
from telemetry.metrics import LOGINS, outcome_label

A = TypeVar("A")
B = TypeVar("B")
T = TypeVar("T")

INVALID_CREDENTIALS = Problem(ErrorCode.INVALID_CREDENTIALS, "Email or password is incorrect.")
EMAIL_TOO_LONG = Problem(
    ErrorCode.INVALID_INPUT, f"Email must be at most {MAX_EMAIL_LENGTH} characters.", ("email",)
)

_INSERT_USER = text("""
    INSERT INTO users (email, email_key, name, role, password_hash)
    VALUES (:email, :email_key, :name, 'CLIENT', :password_hash)
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id
""")


class SignInServices(Protocol):
    """What checking and setting passwords needs, bound to the loop it runs on."""

    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> AsyncEngine: ...
    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """Opens transactions: `async with sessions.begin()`."""

    @property
    def reads(self) -> async_sessionmaker[AsyncSession]:
        """Runs single statements, each committed as it runs."""

    @property
    def passwords(self) -> Passwords: ...


class SignInLane(Protocol):
    """Runs password work away from the loop that serves the reads (`web.sign_in_lane`)."""

    async def run(self, work: Callable[[SignInServices], Coroutine[Any, Any, T]]) -> T: ...


class AuthServices(SignInServices, Protocol):
    """What the account operations need of the running application (`web.state.AppState`)."""

    @property
    def sign_in_lane(self) -> SignInLane: ...


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Where a request comes from, recorded on login sessions and used for throttling."""

    address: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    tokens: IssuedTokens


async def current_viewer(app: AuthServices, access_token: str | None) -> Viewer | None:
    """The viewer behind an access token, or None when it is absent, invalid or revoked."""
    if not access_token:
        return None
    claims = read_access_token(app.settings.secret_key, access_token)
    if claims is None:
        return None
    row = await fetch_row(app.engine, store.VIEWER_SQL, store.viewer_parameters(claims))
    return store.viewer_of(row, claims)


async def register(
    app: AuthServices, *, email: str, password: str, name: str, client: ClientInfo
) -> SignedIn:
    """Create a CLIENT account and sign it in; registrations are throttled per address.
    Runs on the sign-in lane, as everything that hashes or checks a password does."""
    return await app.sign_in_lane.run(
        lambda lane: _register(lane, email=email, password=password, name=name, client=client)
    )


async def _register(
    app: SignInServices, *, email: str, password: str, name: str, client: ClientInfo
) -> SignedIn:
    problems = email_problems(email) + name_problems(name)
    email = normalize_email(email)
    problems += await password_problems(password, email=email, name=name)
    if problems:
        raise BusinessError(problems)
    async with app.sessions.begin() as db:  # counted before the hash, the costly part
        await throttle.count_registration(db, address=client.address, now=datetime.now(UTC))
    password_hash = await app.passwords.hash(password)
    async with app.sessions.begin() as db:
        user_id = await db.scalar(
            _INSERT_USER,
            {"email": email, "email_key": email_key(email), "name": name.strip(),
             "password_hash": password_hash},
        )  # fmt: skip
        if user_id is None:
            raise BusinessError.one(
                ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", ["email"]
            )
        return await _sign_in(app, user_id, client, db=db)


async def login(app: AuthServices, *, email: str, password: str, client: ClientInfo) -> SignedIn:
    """Check the credentials and open a login session (`_login`, on the sign-in lane),
    counting the outcome: ok, or the refusal's code (invalid_credentials, rate_limited for
    the throttle, ...)."""
    try:
        signed_in = await app.sign_in_lane.run(
            lambda lane: _login(lane, email=email, password=password, client=client)
        )
    except Exception as error:
        LOGINS.labels(outcome_label(error)).inc()
        raise
    LOGINS.labels("ok").inc()
    return signed_in


async def _login(app: SignInServices, *, email: str, password: str, client: ClientInfo) -> SignedIn:
    """Check the credentials and open a login session.

    Unknown emails and wrong passwords fail identically, each after one Argon2 verification.
    Failures are throttled per (email, address), per email and per address (`auth.throttle`);
    a right password from an address that has not failed on the account always signs in.
    """
    email = normalize_email(email)
    if len(email) > MAX_EMAIL_LENGTH:  # checked before the throttle stores the address
        raise BusinessError([EMAIL_TOO_LONG])
    if "\x00" in email:  # no stored address has one; PostgreSQL text cannot hold it
        raise BusinessError([INVALID_CREDENTIALS])
    # Each step is a single statement, committed as it runs (a login costs no BEGIN or
    # COMMIT), and independent steps run side by side on two connections, so that under
    # load a login waits for the event loop fewer times.
    attempt, user = await _both(_count_attempt(app, email, client.address), _account(app, email))
    valid = await app.passwords.verify(user.password_hash if user else None, password)
    if user is None or not valid:
        raise BusinessError([INVALID_CREDENTIALS])
    new_hash = (
        await app.passwords.hash(password)
        if valid.legacy or app.passwords.needs_rehash(user.password_hash)
        else None
    )
    _, tokens = await _both(_give_back(app, attempt), _open_session(app, user, client, new_hash))
    return SignedIn(user=user, tokens=tokens)


async def refresh_session(app: AuthServices, *, refresh_token: str | None) -> SignedIn:
    """Rotate the refresh token; a spent token revokes its whole login session."""
    if not refresh_token:
        raise Unauthenticated("No refresh token.")
    async with app.sessions.begin() as db:
        rotated = await store.rotate_refresh_token(db, app.settings, refresh_token)
        user = await db.get(User, rotated[0]) if rotated else None
    if rotated is None or user is None:
        raise Unauthenticated("The session has ended; sign in again.")
    return SignedIn(user=user, tokens=rotated[1])


async def logout(app: AuthServices, *, viewer: Viewer | None, refresh_token: str | None) -> None:
    """End the current login session, found from the access or the refresh token."""
    async with app.sessions.begin() as db:
        session_id = viewer.session_id if viewer else None
        if session_id is None and refresh_token:
            session_id = await store.session_of_refresh_token(db, refresh_token)
        if session_id is not None:
            await store.revoke_session(db, session_id)


async def logout_all(app: AuthServices, *, viewer: Viewer) -> None:
    """End every login session of the viewer."""
    async with app.sessions.begin() as db:
        await store.revoke_user_sessions(db, viewer.id)


async def change_password(
    app: AuthServices,
    *,
    viewer: Viewer,
    current_password: str,
    new_password: str,
    client: ClientInfo,
) -> SignedIn:
    """Replace the password, end every login session of the account (this one included),
    and sign the caller in again with a new login session and its tokens.

    Wrong current passwords are throttled like failed logins of the same account. Runs on
    the sign-in lane.
    """
    return await app.sign_in_lane.run(
        lambda lane: _change_password(
            lane,
            viewer=viewer,
            current_password=current_password,
            new_password=new_password,
            client=client,
        )
    )


async def _change_password(
    app: SignInServices,
    *,
    viewer: Viewer,
    current_password: str,
    new_password: str,
    client: ClientInfo,
) -> SignedIn:
    async with app.reads() as db:  # no transaction: the throttle's counters are shared
        attempt = await throttle.count_attempt(
            db, email=viewer.email, address=client.address, now=datetime.now(UTC)
        )
        user = await db.get(User, viewer.id)
    if user is None:
        raise Unauthenticated()
    if not await app.passwords.verify(user.password_hash, current_password):
        raise BusinessError(
            [
                Problem(
                    ErrorCode.INVALID_CREDENTIALS,
                    "Current password is incorrect.",
                    ("currentPassword",),
                )
            ]
        )
    async with app.reads() as db:
        await throttle.give_back(db, attempt)
    problems = await password_problems(
        new_password,
        email=user.email,
        name=user.name,
        current=current_password,
        field=("newPassword",),
    )
    if problems:
        raise BusinessError(problems)
    password_hash = await app.passwords.hash(new_password)
    async with app.sessions.begin() as db:
        await db.execute(
            update(User)
            .where(User.id == viewer.id)
            .values(password_hash=password_hash, updated_at=func.now())
        )
        await store.revoke_user_sessions(db, viewer.id)
        return await _sign_in(app, viewer.id, client, db=db)


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Await two steps concurrently; both finish before the first failure is raised."""
    a, b = await asyncio.gather(first, second, return_exceptions=True)
    for outcome in (a, b):
        if isinstance(outcome, BaseException):
            raise outcome
    return cast(A, a), cast(B, b)


async def _count_attempt(app: SignInServices, email: str, address: str | None) -> throttle.Attempt:
    async with app.reads() as db:  # no transaction: the throttle's counters are shared
        return await throttle.count_attempt(db, email=email, address=address, now=datetime.now(UTC))


async def _account(app: SignInServices, email: str) -> User | None:
    async with app.reads() as db:
        return await db.scalar(select(User).where(User.email_key == email_key(email)))


async def _give_back(app: SignInServices, attempt: throttle.Attempt) -> None:
    async with app.reads() as db:
        await throttle.give_back(db, attempt)


async def _open_session(
    app: SignInServices, user: User, client: ClientInfo, new_hash: str | None
) -> IssuedTokens:
    async with app.reads() as db:
        if new_hash is not None:
            await db.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
        return await _start_session(app, user.id, client, db=db)


async def _start_session(
    app: SignInServices, user_id: int, client: ClientInfo, *, db: AsyncSession
) -> IssuedTokens:
    return await store.start_session(
        db,
        app.settings,
        user_id=user_id,
        user_agent=client.user_agent,
        ip_address=client.address,
    )


async def _sign_in(
    app: SignInServices, user_id: int, client: ClientInfo, *, db: AsyncSession
) -> SignedIn:
    tokens = await _start_session(app, user_id, client, db=db)
    user = await db.get(User, user_id, populate_existing=True)
    assert user is not None  # noqa: S101 - the row was just written or read
    return SignedIn(user=user, tokens=tokens)


async def unlock(*, db: AsyncSession, email: str | None, address: str | None) -> int:
    """Clear the sign-in throttle counters of an email or of a client address (the latter's
    registrations included); returns how many counters were cleared."""
    return await throttle.clear(
        db, email=normalize_email(email) if email is not None else None, address=address
    )
