"""The OpenAPI document: valid 3.1, complete, committed, and served with Swagger UI."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from openapi_spec_validator import validate

from rest.openapi import openapi_document
from rest.routes import OPERATIONS

ROOT = Path(__file__).resolve().parents[2]


def test_document_validates_as_openapi_3_1() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_committed_copy_matches_the_code() -> None:
    committed = json.loads((ROOT / "openapi.json").read_text())
    assert committed == openapi_document(), "openapi.json is stale: run `server.py export-schema`"


def test_every_route_is_documented_with_its_errors() -> None:
    paths = openapi_document()["paths"]
    for op in OPERATIONS:
        entry = paths[op.path][op.method.lower()]
        responses = entry["responses"]
        assert str(op.status) in responses
        for status in op.errors:
            problem = responses[str(status)]["content"]["application/problem+json"]
            assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
        if op.access != "anyone":
            assert entry["security"] == [{"cookieAuth": []}]
        if op.body is not None:
            assert "application/json" in entry["requestBody"]["content"]


def test_place_order_has_an_example_and_the_idempotency_header() -> None:
    entry = openapi_document()["paths"]["/api/orders"]["post"]
    assert entry["requestBody"]["content"]["application/json"]["example"]["items"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in entry["parameters"])
    assert {"200", "201", "422"} <= set(entry["responses"])


def test_cookie_security_scheme() -> None:
    scheme = openapi_document()["components"]["securitySchemes"]["cookieAuth"]
    assert scheme == scheme | {"type": "apiKey", "in": "cookie"}


async def test_served_document_and_swagger_ui_work_offline(client: httpx.AsyncClient) -> None:
    served = await client.get("/openapi.json")
    assert served.json() == openapi_document()
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "https://" not in page.text  # every asset comes from this server
    assert "/openapi.json" in (await client.get("/docs/start.js")).text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        response = await client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200
        assert len(response.content) > 10_000
