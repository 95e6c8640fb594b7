"""The Starlette-mounted GraphQL endpoint."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from schema.context import Context
from web.state import AppState


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, state: AppState, **kwargs: object) -> None:
        from schema.build import build_schema

        super().__init__(
            build_schema(state.settings),
            graphql_ide="graphiql" if state.settings.graphiql else None,
            **kwargs,  # type: ignore[arg-type]
        )
        self.state = state

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)  # noqa: S101 - subscriptions are not served
        assert isinstance(response, Response)  # noqa: S101
        return Context(request=request, response=response, app=self.state)
