"""Failed-login throttling kept in PostgreSQL, so that it holds across workers.

Each attempt is counted before the password is checked (atomically, so concurrent attempts
cannot slip past the limit) and given back when it succeeds. Counters live in fixed windows
per bucket: one for the email address, one for the client address.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.errors import RateLimited

WINDOW = timedelta(minutes=15)
EMAIL_LIMIT = 5
ADDRESS_LIMIT = 20

_COUNT = text("""
    INSERT INTO login_throttle AS t (bucket, window_start, failures)
    SELECT unnest(CAST(:buckets AS text[])), :window_start, 1
    ON CONFLICT (bucket, window_start) DO UPDATE SET failures = t.failures + 1
    RETURNING bucket, failures
""")

_GIVE_BACK = text("""
    UPDATE login_throttle SET failures = failures - 1
    WHERE bucket = ANY(CAST(:buckets AS text[])) AND window_start = :window_start AND failures > 0
""")


def window_start(now: datetime) -> datetime:
    seconds = WINDOW.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / seconds) * seconds, UTC)


def buckets(email: str, address: str | None) -> list[str]:
    result = ["email:" + email.strip().lower()]
    if address:
        result.append("address:" + address)
    return result


async def count_attempt(
    db: AsyncSession, *, email: str, address: str | None, now: datetime
) -> datetime:
    """Count one login attempt; raise `RateLimited` when a bucket is over its limit.

    Returns the window the attempt was counted in, for `give_back`.
    """
    start = window_start(now)
    rows = await db.execute(_COUNT, {"buckets": buckets(email, address), "window_start": start})
    for bucket, failures in rows:
        limit = EMAIL_LIMIT if bucket.startswith("email:") else ADDRESS_LIMIT
        if failures > limit:
            retry_after = max(1, math.ceil((start + WINDOW - now).total_seconds()))
            raise RateLimited(retry_after)
    return start


async def give_back(db: AsyncSession, *, email: str, address: str | None, start: datetime) -> None:
    """Uncount a successful attempt."""
    await db.execute(_GIVE_BACK, {"buckets": buckets(email, address), "window_start": start})


_PRUNE = text("DELETE FROM login_throttle WHERE window_start < :before")


async def prune(db: AsyncSession, *, now: datetime) -> int:
    """Delete counters of windows that ended more than a window ago; returns how many."""
    result = await db.execute(_PRUNE, {"before": window_start(now) - WINDOW})
    return int(result.rowcount)  # type: ignore[attr-defined]
