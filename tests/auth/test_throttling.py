"""Failed sign-ins are throttled per (email, address), per email and per address, in
PostgreSQL, without letting anyone lock an account's owner out."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from auth.throttle import ADDRESS_LIMIT, EMAIL_LIMIT, PAIR_LIMIT, WINDOW
from tests.helpers import (
    LOGIN,
    PASSWORD,
    ClientFactory,
    error_codes,
    gql,
    make_admin,
    register,
    sql_execute,
    sql_scalar,
)
from web.state import AppState

ANN = "ann@example.com"
ADMIN = "admin@example.com"
WRONG = "definitely not it"
FAILURES = (
    "SELECT coalesce(sum(failures), 0) FROM login_throttle WHERE bucket NOT LIKE 'register:%'"
)
SESSIONS = "SELECT count(*) FROM login_sessions"


async def _attempt(client: httpx.AsyncClient, email: str, password: str) -> dict[str, Any]:
    return await gql(client, LOGIN, {"input": {"email": email, "password": password}})


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


async def _assert_signs_in(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    body = await _attempt(client, email, PASSWORD)
    assert _outcome(body) == "OK", body
    assert client.cookies.get("orderly_access")
    user: dict[str, Any] = body["data"]["login"]["user"]
    return user


async def _registered(another_client: ClientFactory, email: str = ANN) -> None:
    await register(await another_client(), email)


async def _guess_until_refused(client: httpx.AsyncClient, email: str) -> int:
    """Wrong passwords until the answer is RATE_LIMITED; how many were checked."""
    for guesses in range(PAIR_LIMIT + 1):
        body = await _attempt(client, email, WRONG)
        if _outcome(body) == "RATE_LIMITED":
            _assert_rate_limited(body)
            return guesses
        assert _outcome(body) == "INVALID_CREDENTIALS", body
    raise AssertionError(f"more than {PAIR_LIMIT} guesses from one address")


async def _refused_and_nothing_written(
    state: AppState, client: httpx.AsyncClient, email: str, password: str
) -> None:
    """The attempt is RATE_LIMITED, counts nothing, and signs nobody in."""
    before = (await sql_scalar(state, FAILURES), await sql_scalar(state, SESSIONS))
    _assert_rate_limited(await _attempt(client, email, password))
    assert (await sql_scalar(state, FAILURES), await sql_scalar(state, SESSIONS)) == before


# --- one address on one account ---------------------------------------------------------


@pytest.mark.parametrize("exists", [True, False], ids=["existing-email", "unknown-email"])
async def test_one_address_gets_a_few_guesses_per_account(
    exists: bool, client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> None:
    if exists:
        await _registered(another_client)
    assert await _guess_until_refused(client, ANN) == PAIR_LIMIT
    await _refused_and_nothing_written(state, client, ANN, PASSWORD)
    assert not client.cookies.get("orderly_access")
    if exists:  # the owner, elsewhere, is not locked out
        await _assert_signs_in(await another_client("192.0.2.10"), ANN)


async def test_below_the_limit_the_right_password_still_works(
    client: httpx.AsyncClient, another_client: ClientFactory
) -> None:
    """Control: the limit is not off by one on the strict side."""
    await _registered(another_client)
    for _ in range(PAIR_LIMIT - 1):
        assert _outcome(await _attempt(client, ANN, WRONG)) == "INVALID_CREDENTIALS"
    await _assert_signs_in(client, ANN)


async def test_signing_in_forgives_the_addresss_earlier_typos(
    client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> None:
    await _registered(another_client)
    for _ in range(PAIR_LIMIT - 1):
        await _attempt(client, ANN, WRONG)
    await _assert_signs_in(client, ANN)
    client.cookies.clear()
    assert await _guess_until_refused(client, ANN) == PAIR_LIMIT
    # the account and the address keep every failure, the successful attempt uncounted
    assert await sql_scalar(state, FAILURES) == 2 * (2 * PAIR_LIMIT - 1) + PAIR_LIMIT


async def test_the_email_bucket_ignores_case_and_surrounding_spaces(
    client: httpx.AsyncClient, another_client: ClientFactory
) -> None:
    await _registered(another_client)
    variants = [ANN, ANN.upper(), f"  {ANN} ", "Ann@Example.COM", f"{ANN}\t"]
    for variant in variants[:PAIR_LIMIT]:
        assert _outcome(await _attempt(client, variant, WRONG)) == "INVALID_CREDENTIALS"
    _assert_rate_limited(await _attempt(client, ANN, PASSWORD))


async def test_a_throttled_account_does_not_block_the_address_on_other_accounts(
    client: httpx.AsyncClient, another_client: ClientFactory
) -> None:
    await _registered(another_client, "bob@example.com")
    await _guess_until_refused(client, ANN)
    await _assert_signs_in(client, "bob@example.com")


async def test_an_ipv6_host_is_counted_by_its_64_network(another_client: ClientFactory) -> None:
    await _registered(another_client)
    for n in range(PAIR_LIMIT):
        rotating = await another_client(f"2001:db8:1:2::{n + 1:x}")
        assert _outcome(await _attempt(rotating, ANN, WRONG)) == "INVALID_CREDENTIALS"
    _assert_rate_limited(await _attempt(await another_client("2001:db8:1:2::ff"), ANN, PASSWORD))
    await _assert_signs_in(await another_client("2001:db8:1:3::1"), ANN)


# --- many addresses on one account --------------------------------------------------------


async def test_guesses_from_many_addresses_never_lock_the_admin_out(
    another_client: ClientFactory, state: AppState
) -> None:
    """The reported attack: wrong passwords from six addresses, then the right one."""
    await _registered(another_client, ADMIN)
    await make_admin(state, ADMIN)
    attackers = [await another_client(f"198.51.100.{n}") for n in range(1, 7)]
    for attacker in attackers:
        assert _outcome(await _attempt(attacker, ADMIN, WRONG)) == "INVALID_CREDENTIALS"
    for attacker in attackers:  # and on, until every one of them is refused
        await _guess_until_refused(attacker, ADMIN)
    assert await sql_scalar(state, FAILURES) == 3 * EMAIL_LIMIT  # pairs, email and addresses

    for attacker in attackers:  # not even the right password helps a guessing address
        await _refused_and_nothing_written(state, attacker, ADMIN, PASSWORD)
    admin = await _assert_signs_in(await another_client("203.0.113.5"), ADMIN)
    assert admin["role"] == "ADMIN"
    # and again later: the successful sign-in was not counted against anyone
    await _assert_signs_in(await another_client("203.0.113.5"), ADMIN)
    assert await sql_scalar(state, FAILURES) == 3 * EMAIL_LIMIT


async def test_guessing_per_account_is_bounded_whatever_the_number_of_addresses(
    another_client: ClientFactory, state: AppState
) -> None:
    await _registered(another_client)
    addresses = EMAIL_LIMIT // PAIR_LIMIT + 4
    guesses = [
        await _guess_until_refused(await another_client(f"198.51.100.{n}"), ANN)
        for n in range(1, addresses + 1)
    ]
    # the account's budget goes first; past it, each new address gets one guess
    spent = EMAIL_LIMIT // PAIR_LIMIT
    assert guesses == [PAIR_LIMIT] * spent + [1] * (addresses - spent)
    assert sum(guesses) <= min(PAIR_LIMIT * addresses, EMAIL_LIMIT + addresses)
    account = await sql_scalar(
        state, "SELECT failures FROM login_throttle WHERE bucket LIKE 'email:%'"
    )
    assert account == sum(guesses)
    await _assert_signs_in(await another_client("203.0.113.5"), ANN)


async def test_concurrent_guesses_cannot_slip_past_the_limits(
    another_client: ClientFactory, state: AppState
) -> None:
    await _registered(another_client)
    one_address = [await another_client("198.51.100.1") for _ in range(3 * PAIR_LIMIT)]
    bodies = await asyncio.gather(*(_attempt(c, ANN, WRONG) for c in one_address))
    outcomes = [_outcome(body) for body in bodies]
    assert outcomes.count("INVALID_CREDENTIALS") == PAIR_LIMIT, outcomes
    assert outcomes.count("RATE_LIMITED") == 2 * PAIR_LIMIT, outcomes

    for n in range(2, EMAIL_LIMIT // PAIR_LIMIT + 1):  # spend the rest of the account's budget
        await _guess_until_refused(await another_client(f"198.51.100.{n}"), ANN)
    fresh = [await another_client(f"192.0.2.{n}") for n in range(1, 4) for _ in range(3)]
    bodies = await asyncio.gather(*(_attempt(c, ANN, WRONG) for c in fresh))
    outcomes = [_outcome(body) for body in bodies]
    assert outcomes.count("INVALID_CREDENTIALS") == 3, outcomes  # one per new address
    assert outcomes.count("RATE_LIMITED") == 6, outcomes


# --- one address on many accounts ---------------------------------------------------------


async def test_an_address_guessing_on_many_accounts_does_not_lock_out_its_neighbours(
    another_client: ClientFactory, state: AppState
) -> None:
    """One machine behind a shared address stuffs credentials; a neighbour signs in."""
    await _registered(another_client)
    shared = "198.51.100.7"
    stuffer = await another_client(shared)
    for n in range(ADDRESS_LIMIT):
        body = await _attempt(stuffer, f"guess{n}@example.com", WRONG)
        assert _outcome(body) == "INVALID_CREDENTIALS", n
    # past the address's budget: no second guess on an account it has failed on ...
    await _refused_and_nothing_written(state, stuffer, "guess0@example.com", WRONG)
    # ... one on an account it has not, which is counted
    assert _outcome(await _attempt(stuffer, "other@example.com", WRONG)) == "INVALID_CREDENTIALS"
    await _refused_and_nothing_written(state, stuffer, "other@example.com", WRONG)
    address = await sql_scalar(
        state, "SELECT failures FROM login_throttle WHERE bucket = :b", b=f"address:{shared}"
    )
    assert address == ADDRESS_LIMIT + 1

    neighbour = await another_client(shared)
    await _assert_signs_in(neighbour, ANN)


# --- windows, successes, other paths ------------------------------------------------------


async def test_a_successful_login_is_not_counted(
    client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> None:
    await _registered(another_client)
    for _ in range(PAIR_LIMIT + 3):
        await _assert_signs_in(client, ANN)
    assert await sql_scalar(state, FAILURES) == 0


async def test_login_works_again_once_the_window_has_passed(
    client: httpx.AsyncClient, another_client: ClientFactory, state: AppState
) -> None:
    await _registered(another_client)
    await _guess_until_refused(client, ANN)
    _assert_rate_limited(await _attempt(client, ANN, PASSWORD))

    # let the window age: the counters now belong to a window that has ended
    await sql_execute(
        state,
        "UPDATE login_throttle SET window_start = window_start - make_interval(secs => :s)",
        s=WINDOW.total_seconds(),
    )

    await _assert_signs_in(client, ANN)
    client.cookies.clear()  # and the new window starts from zero
    assert await _guess_until_refused(client, ANN) == PAIR_LIMIT


async def test_rest_login_is_throttled_the_same_way(
    another_client: ClientFactory, state: AppState
) -> None:
    await _registered(another_client, ADMIN)
    await make_admin(state, ADMIN)
    attackers = [await another_client(f"198.51.100.{n}") for n in range(1, 6)]
    body = {"email": ADMIN, "password": WRONG}
    answers = [
        (await attacker.post("/api/auth/login", json=body)).status_code
        for attacker in attackers
        for _ in range(PAIR_LIMIT + 1)
    ]
    # four addresses spend the account's budget, the fifth gets its one guess
    checked = EMAIL_LIMIT + len(attackers) - EMAIL_LIMIT // PAIR_LIMIT
    assert answers.count(401) == checked
    assert answers.count(429) == len(answers) - checked
    refused = await attackers[0].post("/api/auth/login", json={**body, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= WINDOW.total_seconds()
    admin = await another_client("203.0.113.5")
    signed_in = await admin.post("/api/auth/login", json={**body, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["role"] == "ADMIN"


CHANGE_PASSWORD = """
mutation($input: ChangePasswordInput!) {
  changePassword(input: $input) { user { email } userErrors { code field } }
}
"""


async def test_wrong_current_passwords_are_throttled_like_logins(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await register(client, ANN)
    before = await sql_scalar(state, "SELECT password_hash FROM users")
    attempt = {"input": {"currentPassword": WRONG, "newPassword": "a brand new passphrase"}}
    for _ in range(PAIR_LIMIT):
        body = await gql(client, CHANGE_PASSWORD, attempt)
        assert body["data"]["changePassword"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    right = {"input": {"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"}}
    _assert_rate_limited(await gql(client, CHANGE_PASSWORD, right))
    assert await sql_scalar(state, "SELECT password_hash FROM users") == before


async def test_expired_windows_are_pruned(state: AppState) -> None:
    from datetime import UTC, datetime

    from auth.throttle import prune, window_start

    now = datetime.now(UTC)
    current = window_start(now)
    for bucket, start in (("email:old", current - 2 * WINDOW), ("email:last", current - WINDOW),
                          ("email:now", current)):  # fmt: skip
        await sql_execute(
            state,
            "INSERT INTO login_throttle (bucket, window_start, failures) VALUES (:b, :w, 3)",
            b=bucket,
            w=start,
        )
    async with state.sessions.begin() as db:
        assert await prune(db, now=now) == 1
    left = await sql_scalar(
        state, "SELECT string_agg(bucket, ',' ORDER BY bucket) FROM login_throttle"
    )
    assert left == "email:last,email:now"
