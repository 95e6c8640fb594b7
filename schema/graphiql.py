"""The GraphiQL page, served with its assets from this server (see graphiql_assets/).

No file comes from a third-party origin, so the page works offline, and its
Content-Security-Policy allows scripts, styles and requests from this server only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

ASSETS = "/graphiql"
ASSETS_DIRECTORY = Path(__file__).resolve().parent / "graphiql_assets"

PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Orderly GraphiQL</title>
  <link rel="stylesheet" href="{ASSETS}/graphiql.min.css">
  <link rel="stylesheet" href="{ASSETS}/orderly-graphiql.css">
</head>
<body>
  <div id="graphiql">Loading…</div>
  <script src="{ASSETS}/react.production.min.js"></script>
  <script src="{ASSETS}/react-dom.production.min.js"></script>
  <script src="{ASSETS}/graphiql.min.js"></script>
  <script src="{ASSETS}/orderly-graphiql.js"></script>
</body>
</html>
"""


def graphiql_routes() -> list[BaseRoute]:
    """The assets the page loads."""
    return [Mount(ASSETS, app=StaticFiles(directory=ASSETS_DIRECTORY), name="graphiql")]
