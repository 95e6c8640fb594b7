"""GraphiQL is served with every file it loads from this server, pinned and untouched."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import httpx

from schema.graphiql import ASSETS, ASSETS_DIRECTORY
from server import create_app
from settings import Settings
from tests.helpers import BASE_URL

HTML = {"Accept": "text/html"}


def _pinned() -> dict[str, str]:
    """File name → SHA-256, from the table in the licence note."""
    note = (ASSETS_DIRECTORY / "LICENSES.md").read_text()
    return dict(re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", note, re.MULTILINE))


def test_vendored_files_are_the_pinned_versions() -> None:
    pinned = _pinned()
    assert set(pinned) == {
        "graphiql.min.js", "graphiql.min.css", "react.production.min.js",
        "react-dom.production.min.js",
    }  # fmt: skip
    for name, digest in pinned.items():
        assert hashlib.sha256((ASSETS_DIRECTORY / name).read_bytes()).hexdigest() == digest, name
    note = (ASSETS_DIRECTORY / "LICENSES.md").read_text()
    assert "graphiql@3.8.3" in note and "react@18.3.1" in note and "MIT License" in note


async def test_the_page_loads_every_asset_from_this_server(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers=HTML)
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(sources) == 6
    for source in sources:
        assert source.startswith(f"{ASSETS}/"), source
        asset = await client.get(source)
        assert asset.status_code == 200, source
        assert asset.content == (ASSETS_DIRECTORY / source.removeprefix(f"{ASSETS}/")).read_bytes()
        assert "cache-control" not in asset.headers  # static, cacheable, unlike /graphql


async def test_graphiql_off_serves_neither_the_page_nor_its_assets(
    settings: Settings, database_url: str
) -> None:
    app = create_app(replace(settings, graphiql=False), database_url=database_url)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        assert (await http.get(f"{ASSETS}/graphiql.min.js")).status_code == 404
        page = await http.get("/graphql", headers=HTML)
        assert "graphiql" not in page.text.lower()
    await app.state.orderly.close()
