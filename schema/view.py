"""The Starlette-mounted GraphQL endpoint."""

from __future__ import annotations

import contextlib
import functools
import time
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult

from auth.tokens import read_access_token
from auth.viewer import Viewer
from db.failures import is_unavailable as is_unavailable_error
from resolvers.auth import current_viewer
from schema.build import build_schema
from schema.compiled.runner import CompiledReads
from schema.context import Context
from schema.errors_format import format_error, is_unavailable
from schema.graphiql import PAGE as GRAPHIQL_PAGE
from schema.limits import MAX_TOKENS
from schema.loaders import Loaders
from telemetry import tracing
from telemetry.metrics import GRAPHQL_DURATION, GRAPHQL_OPERATIONS, labelled, operation_label
from telemetry.slow import operation_var
from web.cookies import read_access_cookie
from web.failures import RETRY_AFTER_SECONDS, UNAVAILABLE, UNAVAILABLE_DETAIL, log_unavailable
from web.problems import problem_response
from web.security_headers import page_policy
from web.state import AppState

SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions are served over WebSocket on this path (the graphql-transport-ws protocol)."
)
NOT_AN_OBJECT = "The request body must be a JSON object (batched requests are not supported)."


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, state: AppState) -> None:
        super().__init__(
            build_schema(state.settings),
            graphql_ide="graphiql" if state.settings.graphiql else None,
            allow_queries_via_get=True,
            multipart_uploads_enabled=False,
        )
        self.state = state
        reads = CompiledReads(self.schema, state)
        state.documents = reads  # the REST reads always run compiled
        self.compiled = reads if state.settings.graphql_compiler else None
        # The page loads everything from this server; the policy allows exactly that.
        self.ide_headers = {"Content-Security-Policy": page_policy(GRAPHIQL_PAGE)}

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(GRAPHIQL_PAGE, headers=self.ide_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        with tracing.span("graphql") as traced:
            response = await self._answer(request, traced)
        await response(scope, receive, send)

    async def _answer(self, request: Request, traced: Any) -> Response:
        started = time.perf_counter()
        path, outcome = "executor", "error"
        try:
            response = await self._compiled(request)
            if response is not None:
                path = "compiled"
            else:
                response = await self.run(request)
            outcome = _outcome(request, response)
        except HTTPException as error:
            response = _http_error(request, error)
        except Exception as error:
            if not is_unavailable_error(error):
                raise
            log_unavailable(error)
            response = _unavailable()
            outcome = "unavailable"
        finally:
            await self._observe(request, path, outcome, time.perf_counter() - started, traced)
        return response

    async def _observe(
        self, request: Request, path: str, outcome: str, seconds: float, traced: Any = None
    ) -> None:
        """Count the operation under its (folded) name and type; the IDE's page is none."""
        payload = getattr(request.state, "graphql_payload", None)
        if payload is None and path == "executor":
            with contextlib.suppress(Exception):  # a body that cannot be read: no operation
                payload = await self._payload(request)
        if payload is None:
            if request.method == "GET":
                return
            payload = {}
        name = payload.get("operationName")
        kind = "query" if path == "compiled" else operation_type(payload.get("query"), name)
        label = operation_label(name)
        labelled(GRAPHQL_OPERATIONS, label, kind, path, outcome).inc()
        tracing.rename(traced, f"graphql {kind} {label}", **{"graphql.path": path})
        labelled(GRAPHQL_DURATION, kind, path).observe(seconds)

    async def execute_operation(self, **kwargs: Any) -> Any:  # type: ignore[override]
        """Subscriptions run over WebSocket only (`schema.live`); over HTTP they are a 400."""
        data = kwargs["request_data"]
        if not isinstance(data, list) and (
            operation_type(data.query, data.operation_name) == "subscription"
        ):
            raise HTTPException(400, SUBSCRIPTION_OVER_HTTP)
        return await super().execute_operation(**kwargs)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def _compiled(self, request: Request) -> Response | None:
        """The answer of the compiled read path, or None for the standard executor."""
        if self.compiled is None:
            return None
        payload = await self._payload(request)
        if payload is None:
            return None
        request.state.graphql_payload = payload
        operation_var.set(operation_label(payload.get("operationName")))
        body = await self._compiled_body(request, payload, self.compiled)
        return None if body is None else Response(body, media_type="application/json")

    async def _compiled_body(
        self, request: Request, payload: dict[str, Any], compiled: CompiledReads
    ) -> bytes | None:
        """A session this worker has answered before is checked in the read's statement;
        any other, first and on its own (`CompiledReads.answer_checking_session`)."""
        token = read_access_cookie(request, self.state.settings)
        claims = read_access_token(self.state.settings.secret_key, token) if token else None
        assumed = compiled.known_viewer(claims) if claims is not None else None
        if claims is not None and assumed is not None:
            statement = compiled.prepare(payload, assumed)
            if statement is None:
                return None
            viewer, body = await compiled.answer_checking_session(statement, claims, assumed)
            request.state.viewer = viewer
            if body is not None:
                return body
        viewer = await self._viewer(request)
        if viewer is not None:
            compiled.remember(viewer)
        return await compiled.answer(payload, viewer)

    async def _payload(self, request: Request) -> dict[str, Any] | None:
        """The request's query, variables and operation name, when it is a plain JSON POST
        or a GET for a query; anything else (and any malformed body) is the executor's."""
        try:
            if request.method == "POST":
                if request.headers.get("content-type", "").split(";")[0] != "application/json":
                    return None
                return self.parse_json(await request.body())
            params = request.query_params
            if "query" not in params or "text/html" in request.headers.get("accept", ""):
                return None
            variables = params.get("variables")
            return {
                "query": params["query"],
                "operationName": params.get("operationName"),
                "variables": self.parse_json(variables) if variables else None,
            }
        except HTTPException:
            return None

    async def _viewer(self, request: Request) -> Viewer | None:
        """The signed-in user, looked up once per request whichever path answers."""
        if not hasattr(request.state, "viewer"):
            token = read_access_cookie(request, self.state.settings)
            request.state.viewer = await current_viewer(self.state, token)
        viewer: Viewer | None = request.state.viewer
        return viewer

    def parse_json(self, data: str | bytes) -> dict[str, Any]:
        """The request body (or the `variables` of a GET) as a JSON object, or a 400.

        orjson refuses invalid UTF-8, lone surrogates, numbers out of range and nesting
        deeper than 1,024 levels, so none of them reaches the schema or the database.
        """
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(400, f"The request body is not valid JSON: {error}") from None
        if not isinstance(parsed, dict):
            raise HTTPException(400, NOT_AN_OBJECT)
        return parsed

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)  # noqa: S101 - subscriptions are not served
        assert isinstance(response, Response)  # noqa: S101
        request.state.sub_response = response
        if not hasattr(request.state, "graphql_payload"):  # the executor alone (compiler off)
            with contextlib.suppress(Exception):
                payload = await self._payload(request)
                request.state.graphql_payload = payload
                if payload is not None:
                    operation_var.set(operation_label(payload.get("operationName")))
        viewer = await self._viewer(request)
        return Context(
            request=request,
            response=response,
            app=self.state,
            viewer=viewer,
            loaders=Loaders.create(self.state.reads),
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data: dict[str, Any] = {"data": result.data}
        request.state.graphql_errors = bool(result.errors)
        if result.errors:
            suggestions = not self.state.settings.is_production
            data["errors"] = [format_error(e, suggestions=suggestions) for e in result.errors]
            sub_response = getattr(request.state, "sub_response", None)
            if sub_response is not None and any(is_unavailable(e) for e in result.errors):
                sub_response.status_code = 503
                sub_response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        if result.extensions:
            data["extensions"] = result.extensions
        return data  # type: ignore[return-value]


def _outcome(request: Request, response: Response) -> str:
    """ok, error (an error in the response, or a refused request) or unavailable (503)."""
    if response.status_code == 503:
        return "unavailable"
    if response.status_code >= 400 or getattr(request.state, "graphql_errors", False):
        return "error"
    return "ok"


@functools.lru_cache(maxsize=512)
def operation_type(query: object, operation_name: object) -> str:
    """query, mutation or subscription: the type of the operation a document runs
    (`unknown` for a document that does not parse or has no such operation). Cached, as
    clients send the same documents again and again."""
    if not isinstance(query, str):
        return "unknown"
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return "unknown"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for operation in operations:
        if operation_name is None and len(operations) == 1:
            return operation.operation.value
        if operation.name is not None and operation.name.value == operation_name:
            return operation.operation.value
    return "unknown"


def _unavailable() -> Response:
    """The database failed before any field ran (e.g. checking the session)."""
    body = {
        "data": None,
        "errors": [{"message": UNAVAILABLE_DETAIL, "extensions": {"code": UNAVAILABLE}}],
    }
    return Response(
        orjson.dumps(body),
        status_code=503,
        media_type="application/json",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _http_error(request: Request, error: HTTPException) -> Response:
    """Requests the endpoint cannot run at all, as problem documents."""
    if request.method == "GET" and isinstance(error.__cause__, InvalidOperationTypeError):
        return problem_response(
            405,
            "METHOD_NOT_ALLOWED",
            "Mutations must be sent with POST.",
            headers={"Allow": "POST"},
        )
    code = "INVALID_INPUT" if error.status_code == 400 else "BAD_REQUEST"
    return problem_response(error.status_code, code, error.reason)
