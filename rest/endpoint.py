"""One REST operation: its contract (for routing and the OpenAPI document) and its runner.

The runner authenticates from the session cookies, checks the role, validates the query
string and the JSON body with the operation's models, calls the handler, and turns domain
errors into problem documents.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from auth.viewer import Viewer
from domain.errors import BusinessError, RequestError, Unauthenticated
from resolvers.auth import current_viewer
from resolvers.users import require_admin
from rest.errors import business_problem, request_problem, validation_problem
from telemetry.slow import operation_var
from web.cookies import read_access_cookie
from web.state import AppState

log = logging.getLogger("orderly.rest")
Access = Literal["anyone", "signed-in", "admin"]
BodyT = TypeVar("BodyT")
QueryT = TypeVar("QueryT")


@dataclass(slots=True)
class Call(Generic[BodyT, QueryT]):
    """What a handler receives: the request, the app, the viewer and the parsed inputs."""

    request: Request
    app: AppState
    viewer: Viewer | None
    body: BodyT
    query: QueryT

    def signed_in(self) -> Viewer:
        assert self.viewer is not None  # noqa: S101 - checked by the runner
        return self.viewer


Handler = Callable[[Call[Any, Any]], Awaitable[Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    access: Access
    status: int
    response: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    example: dict[str, Any] | None = None
    # Takes an Idempotency-Key header; a replay of an earlier request answers 200.
    idempotent: bool = False
    # What a 200 answers instead of `status`: the thing was already done (None: never).
    repeat: str | None = None

    async def __call__(self, request: Request) -> Response:
        state: AppState = request.app.state.orderly
        operation_var.set(f"{self.method} {self.path}")  # named in the slow-operation logs
        try:
            viewer = await current_viewer(state, read_access_cookie(request, state.settings))
            if self.access != "anyone" and viewer is None:
                raise Unauthenticated()
            if self.access == "admin":
                require_admin(viewer)
            query = self._query(request)
            body = await self._body(request)
            return await self.handler(Call(request, state, viewer, body, query))
        except _Invalid as invalid:
            return invalid.response
        except BusinessError as error:
            return business_problem(error)
        except RequestError as error:
            return request_problem(error)

    def _query(self, request: Request) -> BaseModel | None:
        if self.query is None:
            return None
        lists = _list_parameters(self.query)
        values: dict[str, Any] = {}
        for key in request.query_params:
            found = request.query_params.getlist(key)
            values[key] = found if key in lists or len(found) > 1 else found[0]
        try:
            return self.query.model_validate(values)
        except ValidationError as error:
            raise _Invalid(validation_problem(error, "query")) from None

    async def _body(self, request: Request) -> BaseModel | None:
        if self.body is None:
            return None
        raw = await request.body()
        try:
            return self.body.model_validate_json(raw or b"{}")
        except ValidationError as error:
            raise _Invalid(validation_problem(error, "body")) from None


class _Invalid(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _list_parameters(model: type[BaseModel]) -> set[str]:
    """Query parameters that may repeat (declared as lists)."""
    return {
        info.alias or name
        for name, info in model.model_fields.items()
        if any(get_origin(t) is list for t in (info.annotation, *get_args(info.annotation)))
    }
