"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from resolvers.ids import ID_PATTERNS, MAX_ID_LENGTH
from resolvers.input_rules import IDEMPOTENCY_KEY
from resolvers.money import bound_pattern, price_pattern
from rest.endpoint import Operation
from rest.handlers.orders import IDEMPOTENCY_HEADER
from rest.models import AMOUNT, Problem
from rest.paths import id_type
from rest.routes import OPERATIONS
from settings import Settings

REF = "#/components/schemas/{model}"

PROBLEM = {"$ref": REF.format(model="Problem")}


def openapi_document(settings: Settings | None = None, version: str = "1.0.0") -> dict[str, Any]:
    """The document for a server with `settings` (the defaults: as committed in openapi.json).

    Request fields state the rules the resolvers check; defaults are said in descriptions
    only, so that generated clients keep fields with defaults optional.
    """
    digits = (settings or Settings()).currency_digits
    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.response is not None:
            models.append((op.response, "serialization"))
    keys, definitions = models_json_schema(models, ref_template=REF)
    schemas = definitions.get("$defs", {})
    for name in _request_models(
        schemas, [keys[(op.body, "validation")] for op in OPERATIONS if op.body]
    ):
        _as_request(schemas[name], digits)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, keys, digits)
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
            "schemas": schemas,
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


def _request_models(schemas: Mapping[str, Any], refs: list[dict[str, str]]) -> set[str]:
    """The names of the request bodies' schemas and of those they refer to."""
    names: set[str] = set()
    pending = [ref["$ref"].rsplit("/", 1)[-1] for ref in refs]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            pending += re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(schemas[name]))
    return names


def _as_request(schema: Any, digits: int) -> Any:
    """A request-side schema as published: no `default` (said in the description instead),
    amounts with the currency's own pattern."""
    if isinstance(schema, list):
        for item in schema:
            _as_request(item, digits)
    elif isinstance(schema, dict):
        schema.pop("default", None)
        kind = schema.pop(AMOUNT, None)
        if kind is not None:
            schema["pattern"] = price_pattern(digits) if kind == "price" else bound_pattern(digits)
        for value in schema.values():
            _as_request(value, digits)
    return schema


def _operation(op: Operation, keys: Mapping[tuple[Any, Any], Any], digits: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "operationId": op.handler.__module__.rsplit(".", 1)[-1] + "_" + op.handler.__name__,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op, digits),
        "responses": _responses(op, keys),
    }
    if op.access != "anyone":
        result["security"] = [{"cookieAuth": []}]
    if op.body is not None:
        media: dict[str, Any] = {"schema": keys[(op.body, "validation")]}
        if op.example is not None:
            media["example"] = op.example
        required = any(field.is_required() for field in op.body.model_fields.values())
        result["requestBody"] = {"required": required, "content": {"application/json": media}}
    return result


def _parameters(op: Operation, digits: int) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    if "{id}" in op.path:
        type_name = id_type(op.path)
        pattern = ID_PATTERNS[type_name]
        parameters.append({
            "name": "id", "in": "path", "required": True,
            "description": f"The ID of a {type_name}.",
            "schema": {"type": "string", "maxLength": MAX_ID_LENGTH, "pattern": pattern},
        })  # fmt: skip
    if op.idempotent:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Repeat a request safely: the same key with the same items "
                "returns the first order (200); with other items, 422.",
                "schema": {"type": "string", **IDEMPOTENCY_KEY.json_schema()},
            }
        )
    if op.query is not None:
        query = op.query.model_json_schema(ref_template=REF)
        required = set(query.get("required", []))
        for name, prop in query["properties"].items():
            prop = _as_request(prop, digits)
            parameter = {"name": name, "in": "query", "required": name in required}
            if "description" in prop:
                parameter["description"] = prop.pop("description")
            parameters.append({**parameter, "schema": prop})
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
    if op.idempotent or op.repeat:
        responses["200"] = {
            "description": op.repeat
            or "A replay of an earlier request with the same Idempotency-Key.",
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
