"""@authenticated and @requiresRole: printed in the SDL and enforced on every admin field."""

from __future__ import annotations

import re

import httpx
import pytest

from resolvers.ids import to_global_id
from schema import sdl
from tests.helpers import (
    CHANGE_PASSWORD,
    LOGOUT_ALL,
    PASSWORD,
    SET_USER_ROLE,
    ClientFactory,
    error_codes,
    gql,
    live_sessions,
    register,
    register_admin,
    sql_scalar,
)
from web.state import AppState

USERS = "{ users { totalCount nodes { email role } } }"
ADMIN_FIELDS = {"Query": ["users"], "Mutation": ["setUserRole"]}
AUTHENTICATED_FIELDS = {"Mutation": ["logoutAll", "changePassword"]}
PUBLIC_FIELDS = {"Query": ["me"], "Mutation": ["register", "login", "refreshSession", "logout"]}


async def _as(role: str, client: httpx.AsyncClient, state: AppState) -> None:
    """Make `client` anonymous, a signed-in CLIENT, or a signed-in ADMIN."""
    if role == "client":
        await register(client, "carl@example.com", name="Carl")
    elif role == "admin":
        await register_admin(client, state, "root@example.com")


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "UNAUTHENTICATED"), ("client", "FORBIDDEN"), ("admin", None)],
)
async def test_users_requires_the_admin_role(
    role: str, expected: str | None, client: httpx.AsyncClient, state: AppState
) -> None:
    await _as(role, client, state)
    body = await gql(client, USERS)
    if expected is None:
        assert "errors" not in body, body
        assert body["data"]["users"]["totalCount"] == 1
        assert body["data"]["users"]["nodes"] == [{"email": "root@example.com", "role": "ADMIN"}]
    else:
        assert body["data"] is None
        assert error_codes(body) == [expected], body
        assert "carl@example.com" not in str(body)


@pytest.mark.parametrize(
    ("role", "expected"),
    [("anonymous", "UNAUTHENTICATED"), ("client", "FORBIDDEN"), ("admin", None)],
)
async def test_set_user_role_requires_the_admin_role(
    role: str,
    expected: str | None,
    client: httpx.AsyncClient,
    another_client: ClientFactory,
    state: AppState,
) -> None:
    target = await register(await another_client(), "tina@example.com", name="Tina")
    await _as(role, client, state)

    body = await gql(client, SET_USER_ROLE, {"id": target["id"], "role": "ADMIN"})

    stored = await sql_scalar(state, "SELECT role FROM users WHERE email = 'tina@example.com'")
    if expected is None:
        assert body["data"]["setUserRole"]["user"]["role"] == "ADMIN", body
        assert stored == "ADMIN"
        assert await live_sessions(state, "tina@example.com") == 0
    else:
        assert body["data"] is None
        assert error_codes(body) == [expected], body
        # nothing was written: the role is the same and the target's session lives on
        assert stored == "CLIENT"
        assert await live_sessions(state, "tina@example.com") == 1
        updated = await sql_scalar(
            state, "SELECT updated_at = created_at FROM users WHERE email = 'tina@example.com'"
        )
        assert updated is True


async def test_a_client_cannot_promote_themself(client: httpx.AsyncClient, state: AppState) -> None:
    me = await register(client, "carl@example.com", name="Carl")
    body = await gql(client, SET_USER_ROLE, {"id": me["id"], "role": "ADMIN"})
    assert error_codes(body) == ["FORBIDDEN"]
    assert await sql_scalar(state, "SELECT role FROM users") == "CLIENT"


async def test_an_admin_cannot_change_their_own_role(
    client: httpx.AsyncClient, state: AppState
) -> None:
    me = await register_admin(client, state, "root@example.com")
    body = await gql(client, SET_USER_ROLE, {"id": me["id"], "role": "CLIENT"})
    payload = body["data"]["setUserRole"]
    assert payload["user"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_INPUT", ["id"])]
    assert await sql_scalar(state, "SELECT role FROM users") == "ADMIN"


async def test_set_user_role_of_an_unknown_or_malformed_id(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register_admin(client, state, "root@example.com")
    unknown = to_global_id("User", 9999)
    body = await gql(client, SET_USER_ROLE, {"id": unknown, "role": "ADMIN"})
    assert [e["code"] for e in body["data"]["setUserRole"]["userErrors"]] == ["NOT_FOUND"]
    malformed = await gql(client, SET_USER_ROLE, {"id": "not-an-id", "role": "ADMIN"})
    assert error_codes(malformed) == ["INVALID_INPUT"]


async def test_a_demoted_admin_loses_admin_fields_at_once(
    client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> None:
    await register_admin(client, state, "root@example.com")
    other = await another_client()
    other_admin = await register_admin(other, state, "second@example.com")
    assert "errors" not in await gql(other, USERS)  # control
    body = await gql(client, SET_USER_ROLE, {"id": other_admin["id"], "role": "CLIENT"})
    assert body["data"]["setUserRole"]["user"]["role"] == "CLIENT"
    # the demoted admin's session was ended, so the very next request is anonymous
    assert error_codes(await gql(other, USERS)) == ["UNAUTHENTICATED"]


async def test_an_admin_passes_authenticated_fields(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register_admin(client, state, "root@example.com")
    changed = await gql(
        client,
        CHANGE_PASSWORD,
        {"input": {"currentPassword": PASSWORD, "newPassword": "root's new passphrase"}},
    )
    assert changed["data"]["changePassword"]["user"]["role"] == "ADMIN", changed
    assert await gql(client, LOGOUT_ALL) == {"data": {"logoutAll": {"ok": True}}}
    assert await live_sessions(state, "root@example.com") == 0


def _field_line(printed: str, type_name: str, field: str) -> str:
    block = re.search(rf"^type {type_name} \{{\n(.*?)^\}}", printed, re.MULTILINE | re.DOTALL)
    assert block, f"type {type_name} not printed"
    lines = [line for line in block.group(1).splitlines() if line.startswith(f"  {field}")]
    matching = [line for line in lines if re.match(rf"  {field}[(:]", line)]
    assert len(matching) == 1, (field, lines)
    return matching[0]


def _fields(mapping: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(type_name, field) for type_name, fields in mapping.items() for field in fields]


def test_the_sdl_defines_both_directives() -> None:
    printed = sdl()
    assert re.search(r"^directive @authenticated on FIELD_DEFINITION$", printed, re.MULTILINE)
    assert re.search(
        r"^directive @requiresRole\(role: Role!\) on FIELD_DEFINITION$", printed, re.MULTILINE
    )


@pytest.mark.parametrize(("type_name", "field"), _fields(ADMIN_FIELDS))
def test_the_sdl_marks_admin_fields(type_name: str, field: str) -> None:
    line = _field_line(sdl(), type_name, field)
    assert line.endswith(" @requiresRole(role: ADMIN)"), line


@pytest.mark.parametrize(("type_name", "field"), _fields(AUTHENTICATED_FIELDS))
def test_the_sdl_marks_authenticated_fields(type_name: str, field: str) -> None:
    line = _field_line(sdl(), type_name, field)
    assert line.endswith(" @authenticated"), line
    assert "@requiresRole" not in line


@pytest.mark.parametrize(("type_name", "field"), _fields(PUBLIC_FIELDS))
def test_the_sdl_leaves_public_fields_unmarked(type_name: str, field: str) -> None:
    line = _field_line(sdl(), type_name, field)
    assert "@" not in line, line
