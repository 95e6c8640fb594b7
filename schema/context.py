"""The per-request GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from web.state import AppState


@dataclass(slots=True)
class Context:
    request: Request
    response: Response
    app: AppState
