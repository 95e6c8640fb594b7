"""Answering query operations with one SQL statement, or handing them to the executor.

`CompiledReads.answer` takes a request the GraphQL endpoint received. A document is parsed
and validated under the same rules and limits as the standard path, then planned once per
document and operation name (bounded cache). Per request it coerces the variables, builds
the statement for the viewer and runs it; PostgreSQL returns the response's `data` as JSON
text, which becomes the response body without being decoded. Whatever the plan does not
cover, or would answer with an error, returns None before any SQL runs: the standard
executor then answers, and the reason is logged at DEBUG and counted.

A signed-in request needs its session checked before its statement is written, since the
viewer decides what the statement may show. A session this worker has answered before is
checked in the read's own statement instead (`answer_checking_session`): the statement is
written for the viewer the session had then, and PostgreSQL builds the data only if the
session is still live and its user still has that role. Otherwise the data is not built, and
the request is answered again for the viewer the check found.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from graphql import ASTValidationRule, GraphQLError, parse, validate
from graphql.execution.values import get_variable_values
from graphql.validation import specified_rules
from strawberry import Schema
from strawberry.schema.base import BaseSchema

from auth.sessions import viewer_of, viewer_parameters, viewer_sql
from auth.tokens import AccessClaims
from auth.viewer import Viewer
from db.driver import fetch_row, fetch_value
from domain.errors import InvalidArgument
from schema.build import VALIDATION_RULES
from schema.compiled.build import Builder, Fallback
from schema.compiled.plan import Plan, Unsupported, plan_operation
from schema.limits import MAX_TOKENS
from settings import Settings
from telemetry.metrics import COMPILED_FALLBACKS
from web.state import AppState

log = logging.getLogger("orderly.compiled")
PLAN_CACHE_SIZE = 512
STATEMENT_CACHE_SIZE = 1024
MAX_REMEMBERED_VARIABLES = 2048  # bytes of JSON: larger variables are not worth a key
KNOWN_SESSIONS = 4096
StatementKey = tuple[int, int | None, str | None, bytes]


class CompiledStatement(NamedTuple):
    """A compiled read's SQL, its values, and whether PostgreSQL's generic plan suits it."""

    sql: str
    params: tuple[Any, ...]
    generic_plan: bool


RESPONSE_PREFIX = b'{"data":'


class CompiledReads:
    """The compiled read path of one GraphQL schema."""

    def __init__(self, schema: BaseSchema, state: AppState) -> None:
        assert isinstance(schema, Schema)  # noqa: S101 - the schema build_schema makes
        self.schema = schema
        self.state = state
        self.settings: Settings = state.settings
        self.fallbacks: Counter[str] = Counter()
        self.compiled = 0
        self._plans: OrderedDict[tuple[str, str | None, bool], Plan | str] = OrderedDict()
        self._rules = [*specified_rules, *VALIDATION_RULES]
        self._statements: dict[StatementKey, tuple[Plan, CompiledStatement]] = {}
        self._sessions: dict[uuid.UUID, Viewer] = {}  # the viewer each session had last

    def plan(self, query: str, operation_name: str | None, *, trusted: bool = False) -> Plan | str:
        """The plan for a document and operation, or why there is none (cached). A trusted
        document, one the server wrote itself, is not held to the limits set for clients."""
        key = (query, operation_name, trusted)
        cached = self._plans.get(key)
        if cached is not None:
            self._plans.move_to_end(key)
            return cached
        planned = self._make_plan(
            query, operation_name, specified_rules if trusted else self._rules
        )
        self._plans[key] = planned
        if len(self._plans) > PLAN_CACHE_SIZE:
            self._plans.popitem(last=False)
        return planned

    def _make_plan(
        self, query: str, operation_name: str | None, rules: Sequence[type[ASTValidationRule]]
    ) -> Plan | str:
        graphql_schema = self.schema._schema
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return "syntax error"
        if validate(graphql_schema, document, rules):
            return "invalid document"
        try:
            return plan_operation(graphql_schema, document, operation_name)
        except Unsupported as reason:
            return str(reason)

    async def answer(self, payload: dict[str, Any], viewer: Viewer | None) -> bytes | None:
        """The response body for this request, or None to use the standard executor."""
        statement = self.prepare(payload, viewer)
        if statement is None:
            return None
        return _body(await self._run(statement))

    def prepare(self, payload: dict[str, Any], viewer: Viewer | None) -> CompiledStatement | None:
        """The statement answering this request for `viewer`, or None (counted and logged)
        when the standard executor answers."""
        query = payload.get("query")
        operation_name = payload.get("operationName")
        variables = payload.get("variables")
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            self._fall_back("not a single query")
            return None
        if variables is not None and not isinstance(variables, dict):
            self._fall_back("variables not an object")
            return None
        plan = self.plan(query, operation_name)
        if isinstance(plan, str):
            self._fall_back(plan)
            return None
        try:
            statement = self._statement(plan, viewer, variables or {}, strict=False)
        except (Fallback, Unsupported) as reason:
            self._fall_back(str(reason))
            return None
        return statement

    def known_viewer(self, claims: AccessClaims) -> Viewer | None:
        """The viewer this worker last found behind the session of `claims`, if any."""
        viewer = self._sessions.get(claims.session_id)
        return viewer if viewer is not None and viewer.id == claims.user_id else None

    def remember(self, viewer: Viewer) -> None:
        """Keep the viewer a session check found, for the next request of its session."""
        self._sessions[viewer.session_id] = viewer
        if len(self._sessions) > KNOWN_SESSIONS:
            del self._sessions[next(iter(self._sessions))]  # the oldest entry

    async def answer_checking_session(
        self, statement: CompiledStatement, claims: AccessClaims, assumed: Viewer
    ) -> tuple[Viewer | None, bytes | None]:
        """Run `statement`, written for the viewer `assumed`, with the check of the session
        of `claims`, as one statement. Returns the viewer the check found (None for a session
        that is no longer live) and the body, or None as the body when that viewer is not
        the one assumed: PostgreSQL then builds no data, and the caller answers again."""
        sql, params, generic = statement
        first = len(params) + 1
        checked = (
            f"SELECT v.id, v.email, v.name, v.role, v.created_at, "
            f"CASE WHEN v.role = ${first + 2} THEN ({sql}) END AS data "
            f"FROM ({viewer_sql(first)}) AS v"
        )
        values = (*params, *viewer_parameters(claims), assumed.role.value)
        log.debug("compiled, with the session check %s %r", checked, values)
        row = await fetch_row(self.state.engine, checked, values, generic_plan=generic)
        viewer = viewer_of(row, claims)
        if viewer is None:
            self._sessions.pop(claims.session_id, None)
            return None, None
        self.remember(viewer)
        if row is None or viewer.role is not assumed.role:
            return viewer, None
        self.compiled += 1
        return viewer, _body(str(row["data"]))

    async def read(self, query: str, variables: Mapping[str, Any], viewer: Viewer | None) -> str:
        """The `data` of a fixed query document the server itself wrote (the REST reads), as
        JSON text. Domain errors (a bad cursor, a malformed ID) propagate as they are."""
        plan = self.plan(query, None, trusted=True)
        if isinstance(plan, str):
            raise ValueError(f"not a compilable document: {plan}")
        return await self._run(self._statement(plan, viewer, variables, strict=True))

    def _statement(
        self, plan: Plan, viewer: Viewer | None, variables: Mapping[str, Any], *, strict: bool
    ) -> CompiledStatement:
        """The statement of a plan for this viewer and these variables. Its text and values
        depend on nothing else, so the statements of recent requests are remembered."""
        key = _statement_key(plan, viewer, variables)
        known = self._statements.get(key) if key is not None else None
        if known is not None and known[0] is plan:
            return known[1]
        coerced = get_variable_values(
            plan.schema, plan.operation.variable_definitions or (), dict(variables)
        )
        if isinstance(coerced, list):
            if strict:
                raise InvalidArgument("; ".join(error.message for error in coerced))
            raise Fallback("variables do not coerce")
        builder = Builder(
            self.schema, self.settings, viewer, coerced, plan.literal_arguments, strict=strict
        )
        sql, params = builder.statement(plan.fields(coerced))
        statement = CompiledStatement(sql, tuple(params), builder.generic_plan)
        if key is not None:
            self._statements[key] = (plan, statement)
            if len(self._statements) > STATEMENT_CACHE_SIZE:
                del self._statements[next(iter(self._statements))]  # the oldest entry
        return statement

    async def _run(self, statement: CompiledStatement) -> str:
        sql, params, generic = statement
        log.debug("compiled %s %r (%s plan)", sql, params, "generic" if generic else "custom")
        data = await fetch_value(self.state.engine, sql, params, generic_plan=generic)
        self.compiled += 1
        return str(data)

    def _fall_back(self, reason: str) -> None:
        """Count and log why the standard executor answers."""
        self.fallbacks[reason] += 1
        COMPILED_FALLBACKS.labels(reason[:80]).inc()
        log.debug("standard executor: %s", reason)


def _body(data: str) -> bytes:
    return RESPONSE_PREFIX + data.encode() + b"}"


def _statement_key(
    plan: Plan, viewer: Viewer | None, variables: Mapping[str, Any]
) -> StatementKey | None:
    """What a plan's statement depends on: the viewer's identity and role, and the
    variables exactly as sent; None for variables too large to be worth remembering."""
    try:
        encoded = orjson.dumps(variables) if variables else b""
    except TypeError:
        return None
    if len(encoded) > MAX_REMEMBERED_VARIABLES:
        return None
    if viewer is None:
        return (id(plan), None, None, encoded)
    return (id(plan), viewer.id, viewer.role.value, encoded)
