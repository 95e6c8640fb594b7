"""Forged, stale and misused access tokens are all refused (and change nothing)."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from auth.tokens import AUDIENCE, ISSUER, LEEWAY_SECONDS
from tests.helpers import (
    ACCESS,
    LOGOUT_ALL,
    TEST_SECRET,
    Identity,
    assert_access_refused,
    gql,
    me_with,
    sql_scalar,
)
from web.state import AppState

OTHER_SECRET = "another-secret-that-is-just-as-long-as-the-real-one-0123456789"


def claims(who: Identity, *, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
    """The claims of a genuine access token for `who`, with some changed or dropped."""
    now = int(time.time())
    result: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(who.user_id),
        "sid": str(who.session_id),
        "jti": secrets.token_urlsafe(12),
        "typ": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    }
    result.update(changes)
    for name in drop:
        del result[name]
    return result


def sign(payload: dict[str, Any], secret: str = TEST_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def alg_none(who: Identity) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims(who)).encode())}."


def alg_none_keeping_a_real_signature(who: Identity) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    _, payload, signature = who.access.split(".")
    return f"{header}.{payload}.{signature}"


def tampered_payload(who: Identity) -> str:
    """The server's own token with `sub` switched to another user, signature kept."""
    header, payload, signature = who.access.split(".")
    decoded = json.loads(_unb64(payload))
    decoded["sub"] = str(who.other_user_id)
    decoded["sid"] = str(who.other_session_id)
    return f"{header}.{_b64(json.dumps(decoded).encode())}.{signature}"


FORGERIES: dict[str, Callable[[Identity], str]] = {
    "alg-none": alg_none,
    "alg-none-with-real-signature": alg_none_keeping_a_real_signature,
    "wrong-key": lambda who: sign(claims(who), OTHER_SECRET),
    "tampered-payload": tampered_payload,
    "expired-beyond-leeway": lambda who: sign(
        claims(
            who,
            iat=int(time.time()) - 3600,
            nbf=int(time.time()) - 3600,
            exp=int(time.time()) - LEEWAY_SECONDS - 30,
        )
    ),
    "nbf-in-the-future": lambda who: sign(claims(who, nbf=int(time.time()) + LEEWAY_SECONDS + 60)),
    "wrong-audience": lambda who: sign(claims(who, aud="some-other-api")),
    "wrong-issuer": lambda who: sign(claims(who, iss="someone-else")),
    "missing-exp": lambda who: sign(claims(who, drop=("exp",))),
    "missing-sid": lambda who: sign(claims(who, drop=("sid",))),
    "refresh-type": lambda who: sign(claims(who, typ="refresh")),
    "refresh-token-value": lambda who: who.refresh,
    "unknown-session": lambda who: sign(claims(who, sid=str(uuid.uuid4()))),
    "another-users-session": lambda who: sign(claims(who, sid=str(who.other_session_id))),
    "non-numeric-subject": lambda who: sign(claims(who, sub="admin")),
    "garbage": lambda who: "not.a.jwt",
}


async def test_a_correctly_built_token_is_accepted(
    identity: Identity, stranger: httpx.AsyncClient
) -> None:
    """Control: the forgeries below differ from this token in one way only."""
    token = sign(claims(identity))
    me = await me_with(stranger, token)
    assert me["email"] == "ann@example.com"
    body = await gql(stranger, LOGOUT_ALL, cookies={ACCESS: token})
    assert body == {"data": {"logoutAll": {"ok": True}}}


async def test_a_token_expired_within_the_leeway_is_still_accepted(
    identity: Identity, stranger: httpx.AsyncClient
) -> None:
    """Control for the expiry case: only expiry *beyond* the leeway is refused."""
    now = int(time.time())
    token = sign(claims(identity, iat=now - 900, nbf=now - 900, exp=now - LEEWAY_SECONDS // 2))
    assert (await me_with(stranger, token))["email"] == "ann@example.com"


async def test_a_token_accepted_once_is_refused_once_it_expires(
    identity: Identity, stranger: httpx.AsyncClient
) -> None:
    """A token's checks are remembered after its first use, its expiry is not: the same
    token, accepted a moment ago, is refused as soon as its time (with the leeway) is up."""
    now = time.time()
    expires = int(now) - LEEWAY_SECONDS + 2  # valid, with the leeway, for one to two seconds
    token = sign(claims(identity, iat=int(now) - 900, nbf=int(now) - 900, exp=expires))
    assert (await me_with(stranger, token))["email"] == "ann@example.com"
    await asyncio.sleep(max(0.0, expires + LEEWAY_SECONDS - time.time()) + 0.1)
    await assert_access_refused(stranger, token)


@pytest.mark.parametrize("forge", list(FORGERIES.values()), ids=list(FORGERIES))
async def test_forged_access_token_is_refused(
    forge: Callable[[Identity], str],
    identity: Identity,
    stranger: httpx.AsyncClient,
    state: AppState,
) -> None:
    token = forge(identity)
    assert token != identity.access
    await assert_access_refused(stranger, token)
    # the refused logoutAll ended nobody's session
    revoked = await sql_scalar(
        state, "SELECT count(*) FROM login_sessions WHERE revoked_at IS NOT NULL"
    )
    assert revoked == 0
    # and the genuine token still works
    assert (await me_with(stranger, identity.access))["email"] == "ann@example.com"
