"""Sign-in and registration throttling kept in PostgreSQL, so that it holds across workers.

Failed sign-ins are counted in three kinds of bucket, each in fixed windows of `WINDOW`:

    pair:<address> <email>   failures of one client address on one account
    email:<email>            failures on one account, from every address
    address:<address>        failures of one address, on every account

An attempt is refused, before the password is checked, when its address has failed
`PAIR_LIMIT` times on the account, or when it has failed on the account at all and the
account's (`EMAIL_LIMIT`) or the address's (`ADDRESS_LIMIT`) budget is spent. An address
that has not failed on an account is never refused for it: attacks from elsewhere, or from
the same address on other accounts, cannot lock its owner out. A wrong password from such
an address is counted, so past the budgets every address gets one guess per account per
window.

Each attempt is counted before the password is checked, in one statement that locks its
rows, so that concurrent attempts cannot slip past a limit; a refused attempt is uncounted
by a second statement, and a successful one afterwards (`give_back`, one statement), which
also forgives that address's earlier failures on the account. Each runs on its own, outside
any transaction: the counters of an address are shared by every sign-in from it, and a lock
held from one statement to a later COMMIT would hold all of them up for as long as the
event loop takes to send it. Between the two statements of a refusal, a concurrent attempt
may see one failure more than there is, which can only refuse it, never let it through.

Registrations are counted per address (`register:<address>`), at most `REGISTRATION_LIMIT`
per window. An IPv6 address is counted by its /64 network, which one host usually holds.
"""

from __future__ import annotations

import ipaddress
import math
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import RateLimited

WINDOW = timedelta(hours=1)
PAIR_LIMIT = 5
EMAIL_LIMIT = 20
ADDRESS_LIMIT = 50
REGISTRATION_LIMIT = 10
IPV6_PREFIX = 64
UNKNOWN_ADDRESS = "unknown"

_COUNT = text("""
    INSERT INTO login_throttle AS t (bucket, window_start, failures)
    SELECT unnest(CAST(:buckets AS text[])), :window_start, 1
    ON CONFLICT (bucket, window_start) DO UPDATE SET failures = t.failures + 1
    RETURNING bucket, failures
""")

_UNCOUNT = text("""
    UPDATE login_throttle SET failures = failures - 1
    WHERE bucket = ANY(CAST(:buckets AS text[])) AND window_start = :window_start AND failures > 0
""")

# Uncounts the attempt and forgives the pair's earlier failures, in one statement.
_GIVE_BACK = text("""
    UPDATE login_throttle
    SET failures = CASE WHEN bucket = :pair THEN 0 ELSE failures - 1 END
    WHERE bucket = ANY(CAST(:buckets AS text[])) AND window_start = :window_start
      AND failures > 0
""")

# Both answer how many of the deleted counters were above zero.
_CLEAR_EMAIL = text("""
    WITH cleared AS (
        DELETE FROM login_throttle
        WHERE bucket = 'email:' || :email
           OR (bucket LIKE 'pair:%' AND substr(bucket, strpos(bucket, ' ') + 1) = :email)
        RETURNING failures
    )
    SELECT count(*) FILTER (WHERE failures > 0) FROM cleared
""")

_CLEAR_ADDRESS = text("""
    WITH cleared AS (
        DELETE FROM login_throttle
        WHERE bucket IN ('address:' || :address, 'register:' || :address)
           OR (bucket LIKE 'pair:%' AND split_part(substr(bucket, 6), ' ', 1) = :address)
        RETURNING failures
    )
    SELECT count(*) FILTER (WHERE failures > 0) FROM cleared
""")

_PRUNE = text("DELETE FROM login_throttle WHERE window_start < :before")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A counted sign-in attempt: given back with `give_back` when the password is right."""

    email: str
    address: str
    start: datetime

    @property
    def pair_bucket(self) -> str:
        return f"pair:{self.address} {self.email}"

    @property
    def buckets(self) -> list[str]:
        """Sorted, so that concurrent attempts lock shared rows in one order."""
        return sorted([self.pair_bucket, f"email:{self.email}", f"address:{self.address}"])


def window_start(now: datetime) -> datetime:
    """The start of the window `now` falls in."""
    seconds = WINDOW.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, UTC)


def email_key(email: str) -> str:
    """How an email is counted: trimmed, NFKC-normalised and case-folded, so that every
    spelling of one account shares its counters."""
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def address_key(address: str | None) -> str:
    """How a client address is counted: IPv4 as is, IPv6 by its /64 network.

    An absent or unparsable address is counted as `unknown`, one bucket for all of them.
    """
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/{IPV6_PREFIX}", strict=False))
    return str(ip)


def _retry_after(start: datetime, now: datetime) -> int:
    return max(1, math.ceil((start + WINDOW - now).total_seconds()))


async def count_attempt(
    db: AsyncSession, *, email: str, address: str | None, now: datetime
) -> Attempt:
    """Count one sign-in attempt, or raise `RateLimited` (and count nothing) when refused.

    Refused: the address has failed `PAIR_LIMIT` times on this account in the window, or
    has failed on it at all while the account's or the address's budget is spent.
    """
    attempt = Attempt(email_key(email), address_key(address), window_start(now))
    rows = await db.execute(_COUNT, {"buckets": attempt.buckets, "window_start": attempt.start})
    before = {bucket: failures - 1 for bucket, failures in rows}
    pair = before[attempt.pair_bucket]
    refused = pair >= PAIR_LIMIT or (
        pair > 0
        and (
            before[f"email:{attempt.email}"] >= EMAIL_LIMIT
            or before[f"address:{attempt.address}"] >= ADDRESS_LIMIT
        )
    )
    if refused:
        await db.execute(_UNCOUNT, {"buckets": attempt.buckets, "window_start": attempt.start})
        raise RateLimited(_retry_after(attempt.start, now))
    return attempt


async def give_back(db: AsyncSession, attempt: Attempt) -> None:
    """Uncount a successful attempt and forgive the address's earlier failures on the account."""
    await db.execute(
        _GIVE_BACK,
        {"buckets": attempt.buckets, "pair": attempt.pair_bucket, "window_start": attempt.start},
    )


async def count_registration(db: AsyncSession, *, address: str | None, now: datetime) -> None:
    """Count one registration from the address, or raise `RateLimited` past the limit."""
    start = window_start(now)
    bucket = f"register:{address_key(address)}"
    rows = await db.execute(_COUNT, {"buckets": [bucket], "window_start": start})
    if rows.one().failures > REGISTRATION_LIMIT:
        await db.execute(_UNCOUNT, {"buckets": [bucket], "window_start": start})
        raise RateLimited(_retry_after(start, now))


async def clear(db: AsyncSession, *, email: str | None = None, address: str | None = None) -> int:
    """Delete the counters of an email or of an address (its registrations included).

    Returns how many counters (one per bucket and window) above zero were deleted.
    """
    cleared = 0
    if email is not None:
        cleared += await db.scalar(_CLEAR_EMAIL, {"email": email_key(email)}) or 0
    if address is not None:
        cleared += await db.scalar(_CLEAR_ADDRESS, {"address": address_key(address)}) or 0
    return cleared


async def prune(db: AsyncSession, *, now: datetime) -> int:
    """Delete counters of windows that ended more than a window ago; returns how many."""
    result = await db.execute(_PRUNE, {"before": window_start(now) - WINDOW})
    return int(result.rowcount)  # type: ignore[attr-defined]
