"""The committed schema.graphql is what the code prints."""

from __future__ import annotations

from pathlib import Path

from schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def test_committed_sdl_matches_the_code() -> None:
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == sdl(), "schema.graphql is stale: run `uv run server.py export-schema`"
