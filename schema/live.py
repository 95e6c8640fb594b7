"""GraphQL subscriptions over WebSocket (`graphql-transport-ws` on /graphql).

The upgrade is refused (HTTP 403, before any WebSocket exists) when the `Origin` header is
present and not an allowed origin (the HTTP rule of `web.cross_site`) or when the access
cookie names no live login session. An accepted connection lives as long as its login
session: a logout, a password change or a role change closes it with 4403 within a second
or so, on whichever worker it is. Limits: `MAX_CONNECTIONS_PER_USER` connections per user
and worker (more are accepted then closed with 4429), `MAX_SUBSCRIPTIONS` operations per
connection (one more is answered by an `error` message with the code RATE_LIMITED), and
only subscriptions (queries and mutations go over HTTP: BAD_REQUEST). A connection must send
`connection_init` within `INIT_TIMEOUT` (else 4408); uvicorn pings every connection at the
WebSocket level and drops one that stops answering.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ErrorMessage,
    NextMessage,
    NextMessagePayload,
    SubscribeMessage,
)
from strawberry.types import ExecutionResult, Info

from db.failures import is_unavailable
from db.notifications import listen_dsn
from domain.errors import InvalidArgument, Unauthenticated
from resolvers import orders
from resolvers.auth import current_viewer
from resolvers.ids import from_global_id
from resolvers.live import TOO_MANY_CONNECTIONS, LiveConnection, OrderFeed
from schema.context import Context
from schema.errors_format import format_error
from schema.loaders import Loaders
from schema.orders import Order
from schema.permissions import authenticated
from web.cookies import read_access_cookie
from web.origins import AllowedOrigins, request_origin
from web.state import AppState

MAX_SUBSCRIPTIONS = 20
MAX_CONNECTIONS_PER_USER = 10
INIT_TIMEOUT = timedelta(seconds=10)
LISTEN_WAIT = 5.0  # seconds the upgrade waits for the worker's LISTEN connection


@strawberry.type
class Subscription:
    @strawberry.subscription(
        extensions=authenticated(),
        description="The order each time it changes (with its latest event): your own "
        "orders (admins: every order), all of them or the one named.",
    )
    async def order_updated(
        self, info: Info[Context, None], order_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Order, None]:
        ctx = info.context
        connection = ctx.live
        if connection is None or ctx.viewer is None:
            raise Unauthenticated("Sign in to do this.")
        key = from_global_id(order_id, "Order") if order_id is not None else None
        if key is not None:
            async with ctx.app.reads() as db:
                if await orders.get_order(db=db, viewer=ctx.viewer, order_id=key) is None:
                    raise InvalidArgument("No such order.")
        feed = ctx.app.live
        assert feed is not None  # noqa: S101 - set with the WebSocket endpoint
        subscription = feed.subscribe(connection, key)
        try:
            async for changed in subscription.orders():
                async with ctx.app.reads() as db:
                    row = await orders.get_order(db=db, viewer=ctx.viewer, order_id=changed)
                if row is not None:
                    ctx.loaders = Loaders.create(ctx.app.reads)  # nothing cached across events
                    yield Order.from_row(row, ctx)
        finally:
            feed.unsubscribe(connection, subscription)


class _Operation(Operation[Context, None]):
    """Errors formatted as over HTTP: `extensions.code` always set."""

    __slots__ = ()

    async def send_initial_errors(self, errors: list[GraphQLError]) -> None:
        payload = [format_error(e, suggestions=False) for e in errors]
        await self.send_operation_message(
            ErrorMessage(id=self.id, type="error", payload=payload)  # type: ignore[typeddict-item]
        )

    async def send_next(self, execution_result: ExecutionResult) -> None:
        payload: NextMessagePayload = {"data": execution_result.data}
        if execution_result.errors:
            errors: Any = [format_error(e, suggestions=False) for e in execution_result.errors]
            payload["errors"] = errors
        await self.send_operation_message(NextMessage(id=self.id, type="next", payload=payload))


class _Handler(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if not self.connection_acknowledged:
            await self.websocket.close(code=4401, reason="Unauthorized")
            return
        if message["id"] in self.operations:
            await self.websocket.close(
                code=4409, reason=f"Subscriber for {message['id']} already exists"
            )
            return
        refusal = self._refusal(message)
        if refusal is not None:
            error = GraphQLError(refusal[1], extensions={"code": refusal[0]})
            await self.send_message(
                ErrorMessage(id=message["id"], type="error", payload=[error.formatted])
            )
            return
        payload = message["payload"]
        operation = _Operation(
            self, message["id"], payload["query"], payload.get("variables"),
            payload.get("operationName"),
        )  # fmt: skip
        operation.task = asyncio.create_task(self.run_operation(operation))
        operation.task.add_done_callback(self._task_done)
        self.operations[message["id"]] = operation

    def _refusal(self, message: SubscribeMessage) -> tuple[str, str] | None:
        if len(self.operations) >= MAX_SUBSCRIPTIONS:
            return "RATE_LIMITED", f"At most {MAX_SUBSCRIPTIONS} subscriptions per connection."
        try:
            document = parse(message["payload"]["query"])
        except (GraphQLError, KeyError, TypeError):
            return None  # reported by the executor
        name = message["payload"].get("operationName")
        kinds = {
            d.operation
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (name is None or d.name and d.name.value == name)
        }
        if kinds and kinds != {OperationType.SUBSCRIPTION}:
            return "BAD_REQUEST", "Only subscriptions are served over WebSocket; use HTTP."
        return None


class LiveEndpoint(GraphQL[Context, None]):
    """The WebSocket side of /graphql: the same schema as the HTTP endpoint."""

    graphql_transport_ws_handler_class = _Handler

    def __init__(self, schema: BaseSchema, state: AppState) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=INIT_TIMEOUT,
            max_subscriptions_per_connection=None,  # _Handler's limit, with its code
        )
        self.state = state
        self.origins = AllowedOrigins(state.settings.allowed_origins)
        if state.live is None:
            url = state.engine.url.render_as_string(hide_password=False)
            state.live = OrderFeed(
                listen_dsn(state.settings, url),
                state.reads,
                max_connections_per_user=MAX_CONNECTIONS_PER_USER,
            )

    def encode_json(self, data: object) -> str:
        return orjson.dumps(data).decode()  # text frames, as the protocol wants

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        websocket = WebSocket(scope, receive=receive, send=send)
        origin = request_origin(scope)
        if origin is not None and origin not in self.origins:
            await websocket.close(code=1008)  # before accepting: the upgrade answers 403
            return
        try:
            token = read_access_cookie(websocket, self.state.settings)
            viewer = await current_viewer(self.state, token)
        except Exception as error:
            if not is_unavailable(error):
                raise
            await websocket.close(code=1013)  # try again later; the upgrade answers 403
            return
        if viewer is None:
            await websocket.close(code=1008)
            return
        feed = self.state.live
        assert feed is not None  # noqa: S101 - set in __init__
        connection = feed.open(viewer, lambda code, reason: _close(websocket, code, reason))
        if connection is None:
            await websocket.accept(subprotocol=await self.pick_websocket_subprotocol(websocket))
            await websocket.close(TOO_MANY_CONNECTIONS, "Too many connections")
            return
        websocket.state.viewer = viewer
        websocket.state.live = connection
        try:
            # The worker's first connection starts its LISTEN: changes from then on reach it.
            with contextlib.suppress(TimeoutError):  # the database is away: go on, it catches up
                await asyncio.wait_for(feed.listener.connected.wait(), LISTEN_WAIT)
            await self.run(websocket)
        finally:
            feed.close(connection)

    def is_websocket_origin_allowed(self, request: Any, origin: str) -> bool:
        return True  # checked in __call__, by the rule HTTP follows

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        live: LiveConnection = request.state.live
        return Context(
            request=request,  # type: ignore[arg-type]
            response=response,  # type: ignore[arg-type]
            app=self.state,
            viewer=request.state.viewer,
            loaders=Loaders.create(self.state.reads),
            live=live,
        )


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(RuntimeError, OSError):  # it closed meanwhile
        await websocket.close(code, reason)
