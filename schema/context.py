"""The per-request GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from auth.viewer import Viewer
from resolvers.auth import ClientInfo
from resolvers.live import LiveConnection
from schema.loaders import Loaders
from web.client import client_info
from web.state import AppState


@dataclass(slots=True)
class Context:
    request: Request
    response: Response
    app: AppState
    viewer: Viewer | None
    loaders: Loaders
    live: LiveConnection | None = None  # the WebSocket connection of a subscription

    @property
    def client(self) -> ClientInfo:
        return client_info(self.request)
