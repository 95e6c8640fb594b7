"""Swagger UI, served from the installed swagger-ui-bundle package (no CDN)."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

from rest.openapi import openapi_document
from web.security_headers import page_policy

ASSETS = "/docs/assets"

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Orderly REST API</title>
  <link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{assets}/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      withCredentials: true,
      requestInterceptor: (request) => {{ request.credentials = "same-origin"; return request; }},
    }});
  </script>
</body>
</html>
"""


def docs_routes() -> list[BaseRoute]:
    document = openapi_document()
    page = _PAGE.format(assets=ASSETS)
    headers = {"Content-Security-Policy": page_policy(page)}

    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(document)

    async def docs(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Mount(ASSETS, app=StaticFiles(directory=Path(swagger_ui_path)), name="swagger-ui"),
    ]
