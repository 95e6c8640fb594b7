"""The committed schema.graphql is what the code prints."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), "schema.graphql is stale: run `uv run server.py export-schema`"


SCALARS = """
{ __schema { types { name kind specifiedByURL } } }
"""
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


async def test_every_custom_scalar_links_its_specification(client: httpx.AsyncClient) -> None:
    """Code generators and clients learn from `@specifiedBy` what a custom scalar holds."""
    response = await client.post("/graphql", json={"query": SCALARS})
    types = response.json()["data"]["__schema"]["types"]
    custom = {t["name"]: t["specifiedByURL"] for t in types if t["kind"] == "SCALAR"}
    for name in BUILT_IN:
        custom.pop(name, None)
    assert set(custom) == {"DateTime", "Decimal"}
    assert all(url and url.startswith("https://") for url in custom.values()), custom
    for name, url in custom.items():
        assert f"scalar {name} @specifiedBy(url: {json.dumps(url)})" in sdl()
