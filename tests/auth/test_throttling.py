"""Failed-login throttling per email and per client address, kept in PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from auth.throttle import ADDRESS_LIMIT, EMAIL_LIMIT, WINDOW
from tests.auth.conftest import ClientFactory
from tests.auth.support import call, error_codes, execute, scalar
from tests.helpers import LOGIN, PASSWORD, register
from web.state import AppState

ANN = "ann@example.com"
WRONG = "definitely not it"


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    return await call(client, LOGIN, {"input": {"email": email, "password": password}})


def _outcome(body: dict[str, Any]) -> str:
    """OK, a userError code, or a request-level error code."""
    if body.get("errors"):
        codes = error_codes(body)
        assert len(codes) == 1, body
        return codes[0]
    errors = body["data"]["login"]["userErrors"]
    return errors[0]["code"] if errors else "OK"


def _assert_rate_limited(body: dict[str, Any]) -> None:
    assert body["data"] is None, body
    assert error_codes(body) == ["RATE_LIMITED"], body
    retry_after = body["errors"][0]["extensions"]["retryAfter"]
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= WINDOW.total_seconds()


async def _registered(new_client: ClientFactory, email: str = ANN) -> None:
    await register(await new_client(), email)


@pytest.mark.parametrize("exists", [True, False], ids=["existing-email", "unknown-email"])
async def test_email_is_throttled_after_the_limit_even_with_the_right_password(
    exists: bool, client: httpx.AsyncClient, new_client: ClientFactory, state: AppState
) -> None:
    if exists:
        await _registered(new_client)
    for _ in range(EMAIL_LIMIT):
        assert _outcome(await _attempt(client, ANN, WRONG)) == "INVALID_CREDENTIALS"

    sessions = await scalar(state, "SELECT count(*) FROM login_sessions")
    blocked = await _attempt(client, ANN, PASSWORD)
    _assert_rate_limited(blocked)
    assert not client.cookies.get("orderly_access")
    assert await scalar(state, "SELECT count(*) FROM login_sessions") == sessions


async def test_below_the_limit_the_right_password_still_works(
    client: httpx.AsyncClient, new_client: ClientFactory
) -> None:
    """Control: the limit is not off by one on the strict side."""
    await _registered(new_client)
    for _ in range(EMAIL_LIMIT - 1):
        assert _outcome(await _attempt(client, ANN, WRONG)) == "INVALID_CREDENTIALS"
    assert _outcome(await _attempt(client, ANN, PASSWORD)) == "OK"


async def test_the_email_bucket_ignores_case_and_surrounding_spaces(
    client: httpx.AsyncClient, new_client: ClientFactory
) -> None:
    await _registered(new_client)
    variants = [ANN, ANN.upper(), f"  {ANN} ", "Ann@Example.COM", f"{ANN}\t"]
    for variant in variants[:EMAIL_LIMIT]:
        assert _outcome(await _attempt(client, variant, WRONG)) == "INVALID_CREDENTIALS"
    _assert_rate_limited(await _attempt(client, ANN, PASSWORD))


async def test_the_email_limit_holds_across_client_addresses(
    new_client: ClientFactory,
) -> None:
    await _registered(new_client)
    for n in range(EMAIL_LIMIT):
        attacker = await new_client(f"198.51.100.{n + 1}")
        assert _outcome(await _attempt(attacker, ANN, WRONG)) == "INVALID_CREDENTIALS"
    _assert_rate_limited(await _attempt(await new_client("203.0.113.99"), ANN, PASSWORD))


async def test_a_throttled_email_does_not_block_other_emails(
    client: httpx.AsyncClient, new_client: ClientFactory
) -> None:
    await _registered(new_client, "bob@example.com")
    for _ in range(EMAIL_LIMIT + 1):
        await _attempt(client, ANN, WRONG)
    assert _outcome(await _attempt(client, "bob@example.com", PASSWORD)) == "OK"


async def test_one_address_is_throttled_across_different_emails(
    new_client: ClientFactory,
) -> None:
    await _registered(new_client)
    attacker = await new_client("198.51.100.7")
    for n in range(ADDRESS_LIMIT):
        body = await _attempt(attacker, f"guess{n}@example.com", WRONG)
        assert _outcome(body) == "INVALID_CREDENTIALS", n
    _assert_rate_limited(await _attempt(attacker, ANN, PASSWORD))
    # the user is not locked out from their own address
    assert _outcome(await _attempt(await new_client("192.0.2.10"), ANN, PASSWORD)) == "OK"


async def test_aliased_logins_in_one_document_are_each_counted(
    client: httpx.AsyncClient, new_client: ClientFactory
) -> None:
    await _registered(new_client)
    fields = [
        f'a{n}: login(input: {{email: "{ANN}", password: "{WRONG}"}}) {{ userErrors {{ code }} }}'
        for n in range(1, EMAIL_LIMIT + 1)
    ]
    last = EMAIL_LIMIT + 1
    fields.append(
        f'a{last}: login(input: {{email: "{ANN}", password: "{PASSWORD}"}})'
        " { user { id } userErrors { code } }"
    )
    body = await call(client, "mutation {\n" + "\n".join(fields) + "\n}")
    # mutation fields run one after another; the last one is over the limit
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        ([f"a{last}"], "RATE_LIMITED")
    ], body
    assert body["data"] is None  # a non-null root field failed
    assert not client.cookies.get("orderly_access")


async def test_concurrent_failures_cannot_slip_past_the_limit(
    new_client: ClientFactory,
) -> None:
    await _registered(new_client)
    attempts = 3 * EMAIL_LIMIT
    clients = [await new_client() for _ in range(attempts)]
    bodies = await asyncio.gather(*(_attempt(c, ANN, WRONG) for c in clients))
    outcomes = sorted(_outcome(body) for body in bodies)
    assert outcomes.count("INVALID_CREDENTIALS") == EMAIL_LIMIT, outcomes
    assert outcomes.count("RATE_LIMITED") == attempts - EMAIL_LIMIT, outcomes


async def test_a_successful_login_is_not_counted(
    client: httpx.AsyncClient, new_client: ClientFactory, state: AppState
) -> None:
    await _registered(new_client)
    for _ in range(EMAIL_LIMIT + 3):
        assert _outcome(await _attempt(client, ANN, PASSWORD)) == "OK"
    failures = await scalar(state, "SELECT coalesce(sum(failures), 0) FROM login_throttle")
    assert failures == 0


async def test_login_works_again_once_the_window_has_passed(
    client: httpx.AsyncClient, new_client: ClientFactory, state: AppState
) -> None:
    await _registered(new_client)
    for _ in range(EMAIL_LIMIT):
        await _attempt(client, ANN, WRONG)
    _assert_rate_limited(await _attempt(client, ANN, PASSWORD))
    counted = await scalar(
        state, "SELECT failures FROM login_throttle WHERE bucket = :b", b=f"email:{ANN}"
    )
    assert counted == EMAIL_LIMIT

    # let the window age: the counters now belong to a window that has ended
    await execute(
        state,
        "UPDATE login_throttle SET window_start = window_start - make_interval(secs => :s)",
        s=WINDOW.total_seconds(),
    )

    assert _outcome(await _attempt(client, ANN, PASSWORD)) == "OK"
    # and the new window starts from zero: EMAIL_LIMIT more failures are allowed again
    client.cookies.clear()
    for _ in range(EMAIL_LIMIT):
        assert _outcome(await _attempt(client, ANN, WRONG)) == "INVALID_CREDENTIALS"
    _assert_rate_limited(await _attempt(client, ANN, PASSWORD))


CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { email } userErrors { code field } }
}
"""


async def test_wrong_current_passwords_are_throttled_like_logins(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, ANN)
    before = await scalar(state, "SELECT password_hash FROM users")
    attempt = {"input": {"currentPassword": WRONG, "newPassword": "a brand new passphrase"}}
    for _ in range(EMAIL_LIMIT):
        body = await call(client, CHANGE_PASSWORD, attempt)
        assert body["data"]["changePassword"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    right = {"input": {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}}
    _assert_rate_limited(await call(client, CHANGE_PASSWORD, right))
    assert await scalar(state, "SELECT password_hash FROM users") == before


async def test_expired_windows_are_pruned(state: AppState) -> None:
    from datetime import UTC, datetime

    from auth.throttle import prune, window_start

    now = datetime.now(UTC)
    current = window_start(now)
    for bucket, start in (("email:old", current - 2 * WINDOW), ("email:last", current - WINDOW),
                          ("email:now", current)):  # fmt: skip
        await execute(
            state,
            "INSERT INTO login_throttle (bucket, window_start, failures) VALUES (:b, :w, 3)",
            b=bucket,
            w=start,
        )
    async with state.sessions.begin() as db:
        assert await prune(db, now=now) == 1
    left = await scalar(state, "SELECT string_agg(bucket, ',' ORDER BY bucket) FROM login_throttle")
    assert left == "email:last,email:now"
