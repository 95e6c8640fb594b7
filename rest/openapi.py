"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rest.endpoint import Operation
from rest.handlers.orders import IDEMPOTENCY_HEADER
from rest.models import Problem
from rest.routes import OPERATIONS
from settings import Settings

REF = "#/components/schemas/{model}"
PROBLEM = {"$ref": REF.format(model="Problem")}


def openapi_document(settings: Settings | None = None, version: str = "1.0.0") -> dict[str, Any]:
    """The document for a server with `settings` (the defaults: as committed in openapi.json)."""
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    keys, definitions = models_json_schema(models, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, keys)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Orderly REST API",
            "version": version,
            "description": "The REST compatibility layer of Orderly. Sign in with "
            "`POST /api/auth/login`; the session travels in HttpOnly cookies. Requests with a "
            "body must send `Content-Type: application/json`. Errors are RFC 9457 problem "
            "documents.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "cookieAuth": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "orderly_access",
                    "description": "The access-token cookie set by login, register and refresh "
                    "(named `__Host-orderly_access` when served over HTTPS).",
                }
            },
        },
    }


def _operation(op: Operation, keys: Mapping[tuple[Any, Any], Any]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": op.handler.__module__.rsplit(".", 1)[-1] + "_" + op.handler.__name__,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": _responses(op, keys),
    }
    if op.access != "anyone":
        result["security"] = [{"cookieAuth": []}]
    if op.body is not None:
        media: dict[str, Any] = {"schema": keys[(op.body, "validation")]}
        if op.example is not None:
            media["example"] = op.example
        result["requestBody"] = {"required": True, "content": {"application/json": media}}
    return result


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    if "{id}" in op.path:
        parameters.append(
            {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if op.path == "/api/orders" and op.method == "POST":
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Repeat a request safely: the same key with the same items "
                "returns the first order (200); with other items, 422.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    if op.query is not None:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            parameters.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    return parameters


def _responses(op: Operation, keys: Mapping[tuple[Any, Any], Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(op.status).phrase}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": keys[(op.response, "serialization")]}}
    if op.headers:
        success["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in op.headers.items()
        }
    responses: dict[str, Any] = {str(op.status): success}
    if op.path == "/api/orders" and op.method == "POST":
        responses["200"] = {
            "description": "A replay of an earlier request with the same Idempotency-Key.",
            "content": success["content"],
        }
    statuses = set(op.errors) | {403}  # a foreign Origin is refused on every route
    if op.method in ("POST", "PUT", "PATCH", "DELETE"):
        statuses |= {413, 415}
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": PROBLEM}},
        }
    return responses
