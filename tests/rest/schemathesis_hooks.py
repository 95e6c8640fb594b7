"""What schemathesis is told beyond the OpenAPI document: which values are valid by rules
no JSON Schema can state. The checks themselves stay as schemathesis defines them; only
cases generated as valid data that the server's own validators refuse are not sent as such:

- a new password the server finds guessable (WEAK_PASSWORD), or an email its stricter rules
  refuse (email-validator's, no mixed scripts);
- a cursor the server did not issue, or one of another sort order (a name where a price
  goes): a cursor is whatever a list answered in `nextCursor`;
- an order whose lines of one product add up to more than 1,000;
- a change of one's own role (ORDERLY_FUZZ_SELF, the signed-in user's ID), which nobody may
  make.

So that valid data keeps coming, `format: password` and `format: cursor` are drawn as random
text and as cursors made with the server's own encoder. Negative cases are all sent.
Loaded with SCHEMATHESIS_HOOKS=tests.rest.schemathesis_hooks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import string
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st

from domain.errors import InvalidArgument
from resolvers.accounts import email_problems, password_problems
from resolvers.checkout import MAX_QUANTITY
from resolvers.pagination import decode_cursor, encode_cursor
from resolvers.webhooks import UnsafeAddress, is_public, url_parts

_PRINTABLE = string.ascii_letters + string.digits + string.punctuation
# Per list, the kind of value each sort's cursor holds: (a timestamp?, its Python type).
_CURSOR_KINDS: dict[str, dict[str, tuple[bool, type]]] = {
    "/api/products": {"name": (False, str), "price": (False, int), "createdAt": (True, object)},
    "/api/orders": {"createdAt": (True, object), "total": (False, int)},
    "/api/users": {"": (True, object)},
    "/api/webhooks": {"": (True, object)},
    "/api/webhooks/{id}/deliveries": {"": (True, object)},
}
# Lists with one order, newest first, and no `sort` parameter.
_UNSORTED = ("/api/users", "/api/webhooks", "/api/webhooks/{id}/deliveries")
# Public addresses for webhook URLs: a host name would have to resolve, and from here it may
# not (a webhook URL must lead to a public address; none is called by these runs).
_PUBLIC = ("93.184.215.14", "1.1.1.1", "8.8.4.4")

passwords = st.randoms(use_true_random=False).map(
    lambda random: "".join(random.choice(_PRINTABLE) for _ in range(24))
)
_ids = st.integers(1, 2**63 - 1)
_sort_values = st.one_of(
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),  # noqa: DTZ001
    st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(blacklist_characters="\x00", codec="utf-8"), max_size=50),
)
cursors = st.builds(encode_cursor, _sort_values, _ids)

schemathesis.openapi.format("password", passwords)
schemathesis.openapi.format("cursor", cursors)
schemathesis.openapi.format(
    "uri",
    st.builds(
        "https://{}/{}".format,
        st.sampled_from(_PUBLIC),
        st.text(string.ascii_letters + string.digits + "-_/", max_size=40),
    ),
)


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Keep every case but those generated as valid that the server's rules refuse."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return True
    path, body = case.operation.path, case.body if isinstance(case.body, dict) else {}
    if isinstance(case.query, dict) and not _cursor_fits(path, case.query):
        return False
    if path == "/api/orders" and case.method.upper() == "POST":
        return _lines_fit(body)
    if path in ("/api/webhooks", "/api/webhooks/{id}") and isinstance(body.get("url"), str):
        return _public_url(body["url"])
    if path in ("/api/auth/register", "/api/auth/password"):
        return _account_fits(body)
    if path == "/api/users/{id}" and case.method.upper() == "PATCH":
        return (case.path_parameters or {}).get("id") != os.environ.get("ORDERLY_FUZZ_SELF")
    return True


def _cursor_fits(path: str, query: dict[str, Any]) -> bool:
    cursor, kinds = query.get("cursor"), _CURSOR_KINDS.get(path)
    if cursor is None or kinds is None:
        return True
    sort = str(query.get("sort", "-createdAt")).lstrip("-") if path not in _UNSORTED else ""
    if not isinstance(cursor, str) or sort not in kinds:
        return True
    timestamp, kind = kinds[sort]
    try:
        decode_cursor(cursor, timestamp=timestamp, kind=kind)
    except InvalidArgument:
        return False
    return True


def _public_url(url: str) -> bool:
    """Whether a webhook URL is https to a public address literal (nothing to resolve)."""
    try:
        _, host, _, _ = url_parts(url, allow_private=False)
        return is_public(ipaddress.ip_address(host))
    except (UnsafeAddress, ValueError):
        return False


def _lines_fit(body: dict[str, Any]) -> bool:
    totals: Counter[str] = Counter()
    for line in body.get("items") or []:
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if isinstance(quantity, int | float) and not isinstance(quantity, bool):
            totals[str(line.get("productId"))] += int(quantity)
    return all(total <= MAX_QUANTITY for total in totals.values())


def _account_fits(body: dict[str, Any]) -> bool:
    email, name = str(body.get("email", "")), str(body.get("name", ""))
    if "email" in body and email_problems(email):
        return False
    password = body.get("password", body.get("newPassword"))
    if not isinstance(password, str):
        return True
    return not asyncio.run(password_problems(password, email=email, name=name))
