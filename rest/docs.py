"""Swagger UI, served from the installed swagger-ui-bundle package (no CDN).

The page has no inline script or style: its start-up script is served from here too, so
its Content-Security-Policy allows scripts and styles from this server only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from rest.openapi import openapi_document
from settings import Settings
from web.security_headers import page_policy

ASSETS = "/docs/assets"
START = "/docs/start.js"

_PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Orderly REST API</title>
  <link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{ASSETS}/swagger-ui-bundle.js"></script>
  <script src="{START}"></script>
</body>
</html>
"""

# Same-origin requests carry the session cookies, so "Try it out" acts as the signed-in user.
_START = """window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  withCredentials: true,
  requestInterceptor: (request) => { request.credentials = "same-origin"; return request; },
});
"""


def docs_routes(settings: Settings) -> list[BaseRoute]:
    document = openapi_document(settings)
    headers = {"Content-Security-Policy": page_policy(_PAGE)}

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(_PAGE, headers=headers)

    async def start(request: Request) -> Response:
        return Response(_START, media_type="text/javascript")

    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route(START, start, methods=["GET"]),
        Mount(ASSETS, app=StaticFiles(directory=Path(swagger_ui_path)), name="swagger-ui"),
    ]
