"""The admin `users` list: search, role filter, keyset pagination and totalCount."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import error_codes, gql

USERS = """
query($first: Int, $after: String, $filter: UserFilter) {
  users(first: $first, after: $after, filter: $filter) {
    totalCount
    edges { cursor node { id email name role } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

# (email, name, role, seconds ago); two rows share a timestamp to exercise the id tiebreak
PEOPLE = [
    ("alice@example.com", "Alice Archer", "CLIENT", 50),
    ("bob@example.com", "Bob Baker", "CLIENT", 40),
    ("carol@example.com", "Carol Cook", "ADMIN", 30),
    ("dave@example.com", "Dave Dyer", "CLIENT", 20),
    ("erin@example.com", "Erin Archer", "CLIENT", 20),
    ("frank@example.com", "100% Frank", "CLIENT", 10),
]
ADMIN = "root@example.com"


async def _users(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    body = await gql(client, USERS, variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["users"]
    return result


def _emails(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["email"] for edge in connection["edges"]]


async def test_admins_see_every_user_newest_first_with_emails(
    admin_among_people: httpx.AsyncClient,
) -> None:
    users = await _users(admin_among_people)
    assert users["totalCount"] == len(PEOPLE) + 1
    assert _emails(users) == [
        ADMIN,
        "frank@example.com",
        "erin@example.com",  # same created_at as dave: the larger id first
        "dave@example.com",
        "carol@example.com",
        "bob@example.com",
        "alice@example.com",
    ]
    assert users["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("archer", ["erin@example.com", "alice@example.com"]),
        ("BOB@", ["bob@example.com"]),
        ("  cook  ", ["carol@example.com"]),
        ("100%", ["frank@example.com"]),
        ("00%", ["frank@example.com"]),  # a literal percent sign, not a wildcard
        ("b_b", []),  # a literal underscore, not a wildcard
        ("nobody", []),
    ],
)
async def test_search_matches_name_or_email_case_insensitively(
    search: str, expected: list[str], admin_among_people: httpx.AsyncClient
) -> None:
    users = await _users(admin_among_people, filter={"search": search})
    assert _emails(users) == expected
    assert users["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("ADMIN", [ADMIN, "carol@example.com"]),
        ("CLIENT", ["frank@example.com", "erin@example.com", "dave@example.com",
                    "bob@example.com", "alice@example.com"]),
    ],
)  # fmt: skip
async def test_role_filter(
    role: str, expected: list[str], admin_among_people: httpx.AsyncClient
) -> None:
    users = await _users(admin_among_people, filter={"role": role})
    assert _emails(users) == expected
    assert {edge["node"]["role"] for edge in users["edges"]} == {role}
    assert users["totalCount"] == len(expected)


async def test_search_and_role_combine(admin_among_people: httpx.AsyncClient) -> None:
    users = await _users(admin_among_people, filter={"search": "example.com", "role": "ADMIN"})
    assert users["totalCount"] == 2
    assert _emails(users) == [ADMIN, "carol@example.com"]


async def test_pages_follow_each_other_without_gaps_or_repeats(
    admin_among_people: httpx.AsyncClient,
) -> None:
    everyone = _emails(await _users(admin_among_people))
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = await _users(admin_among_people, first=2, after=after)
        pages += 1
        assert page["totalCount"] == len(everyone)  # the total is over all pages
        assert len(page["edges"]) <= 2
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if page["edges"]:
            assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]
            assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        seen += _emails(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everyone
    assert pages == 4


async def test_pagination_with_a_filter(admin_among_people: httpx.AsyncClient) -> None:
    first = await _users(admin_among_people, first=3, filter={"role": "CLIENT"})
    rest = await _users(
        admin_among_people, first=3, after=first["pageInfo"]["endCursor"], filter={"role": "CLIENT"}
    )
    assert _emails(first) + _emails(rest) == [
        "frank@example.com", "erin@example.com", "dave@example.com",
        "bob@example.com", "alice@example.com",
    ]  # fmt: skip
    assert first["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasNextPage"] is False
    assert first["totalCount"] == rest["totalCount"] == 5


async def test_a_page_of_100_is_allowed(admin_among_people: httpx.AsyncClient) -> None:
    assert len((await _users(admin_among_people, first=100))["edges"]) == len(PEOPLE) + 1


@pytest.mark.parametrize(
    "variables",
    [{"first": 101}, {"first": -1}, {"after": "not-a-cursor"}, {"after": "WzEsMl0"}],
    ids=["first-101", "negative", "garbage-cursor", "cursor-of-wrong-shape"],
)
async def test_bad_page_arguments_are_invalid_input(
    variables: dict[str, Any], admin_among_people: httpx.AsyncClient
) -> None:
    body = await gql(admin_among_people, USERS, variables)
    assert body["data"] is None
    assert error_codes(body) == ["INVALID_INPUT"], body
