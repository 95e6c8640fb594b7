"""Sending the outbox: claim due deliveries, POST them signed, record the outcome.

Like the sign-in functions of `resolvers/auth.py`, the dispatcher takes the session factory
and runs each step in a short transaction of its own: no transaction is open while a
receiver is called.

- **Claim**: one statement takes up to `BATCH` due rows with `FOR UPDATE SKIP LOCKED`,
  counts the attempt and moves `next_attempt_at` past the attempt's lease, then commits.
  Racing dispatchers (any worker, any host) skip each other's rows, and once the claim has
  committed the row is no longer due: one attempt is made by one dispatcher.
- **Deliver**: the event as JSON, signed per Standard Webhooks (`webhook-id` is the
  delivery's ID, the same on every attempt and replay), to an address resolved and checked
  again now (DNS rebinding), within the timeout.
- **Record**: a 2xx is SUCCEEDED; anything else is tried again after an exponential backoff
  with jitter, until the delivery is 24 hours old, then FAILED. The outcome is written only
  if the row is still at the attempt this dispatcher claimed.
- A dispatcher that dies mid-attempt leaves its row claimed until the lease ends; then it
  is due again and another dispatcher sends it, with the same `webhook-id` (at least once).
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook as Signer

from db.failures import log_retried_failure
from domain.codes import DeliveryStatus
from resolvers.ids import to_global_id
from resolvers.money import from_minor
from resolvers.webhooks import UnsafeAddress, resolve, url_parts
from settings import Settings
from telemetry.metrics import WEBHOOK_DELIVERIES

log = logging.getLogger("orderly.webhooks")

BATCH = 20
MAX_AGE = timedelta(hours=24)
MAX_DELAY = timedelta(hours=4)
LEASE_MARGIN = 5.0  # seconds, beyond twice the timeout, before a claimed attempt is given up
MAX_ERROR = 500
USER_AGENT = "Orderly-Webhooks/1"

_CLAIM = text("""
    WITH due AS (
        SELECT d.id FROM webhook_deliveries AS d
        JOIN webhooks AS w ON w.id = d.webhook_id AND w.active
        WHERE d.status = 'PENDING' AND d.next_attempt_at <= now()
        ORDER BY d.next_attempt_at, d.id
        LIMIT :limit
        FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries AS d
    SET attempts = d.attempts + 1, updated_at = now(),
        next_attempt_at = now() + make_interval(secs => :lease)
    FROM due, webhooks AS w
    WHERE d.id = due.id AND w.id = d.webhook_id
    RETURNING d.id, d.order_event_id, d.event, d.attempts, d.created_at, w.url, w.secret
""")

_EVENT = text("""
    SELECT e.id, e.from_status, e.to_status, e.note, e.at,
           o.id AS order_id, o.customer_id, o.total_minor, o.currency, o.created_at,
           (SELECT coalesce(json_agg(json_build_object(
                'productId', i.product_id, 'productName', i.product_name,
                'quantity', i.quantity, 'unitPriceMinor', i.unit_price_minor,
                'subtotalMinor', i.subtotal_minor) ORDER BY i.id), '[]')
            FROM order_items AS i WHERE i.order_id = o.id) AS items
    FROM order_events AS e JOIN orders AS o ON o.id = e.order_id
    WHERE e.id = :id
""")

_RECORD = text("""
    UPDATE webhook_deliveries
    SET status = :status, last_response_code = :code, last_error = :error,
        next_attempt_at = :next, updated_at = now()
    WHERE id = :id AND attempts = :attempt AND status = 'PENDING'
""")


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    order_event_id: int
    event: str
    attempt: int
    created_at: datetime
    url: str
    secret: str

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: the delivery's public ID, the same on every attempt."""
        return to_global_id("Delivery", self.id)


@dataclass(frozen=True, slots=True)
class Outcome:
    code: int | None  # the receiver's HTTP status, None when there was no answer
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _money(minor: int, currency: str, digits: int) -> dict[str, str]:
    return {"amount": str(from_minor(minor, digits)), "currency": currency}


def payload(event: str, row: Any, digits: int) -> bytes:
    """The delivery body: the event, when it happened, and the order as it was then."""
    items = row.items if isinstance(row.items, list) else orjson.loads(row.items)
    order = {
        "id": to_global_id("Order", row.order_id),
        "status": row.to_status,
        "customerId": to_global_id("User", row.customer_id),
        "total": _money(row.total_minor, row.currency, digits),
        "items": [
            {
                "productId": to_global_id("Product", item["productId"]),
                "productName": item["productName"],
                "quantity": item["quantity"],
                "unitPrice": _money(item["unitPriceMinor"], row.currency, digits),
                "subtotal": _money(item["subtotalMinor"], row.currency, digits),
            }
            for item in items
        ],
        "createdAt": _iso(row.created_at),
        "event": {
            "fromStatus": row.from_status,
            "toStatus": row.to_status,
            "note": row.note,
            "at": _iso(row.at),
        },
    }
    return orjson.dumps({"type": event, "timestamp": _iso(row.at), "data": {"order": order}})


def sign(secret: str, webhook_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of a delivery sent at `at`."""
    signature = Signer(secret).sign(webhook_id, at, body.decode())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def retry_delay(attempt: int, base: float) -> float:
    """Seconds before the attempt after `attempt` (1-based): `base` doubled per attempt, at
    most `MAX_DELAY`, with jitter (between half and all of it) so that receivers that
    failed together are not all retried at once."""
    ceiling = min(base * 2 ** min(attempt - 1, 40), MAX_DELAY.total_seconds())
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


async def post(
    url: str, body: bytes, headers: dict[str, str], *, within: float, allow_private: bool
) -> Outcome:
    """POST `body` to `url` and return the status the receiver answered.

    The host is resolved and checked now; the connection goes to an address that passed
    the check (never to a second lookup's answer), TLS verified against the host name.
    Redirects are not followed: a 3xx is a failed attempt.
    """
    try:
        scheme, host, port, target = url_parts(url, allow_private=allow_private)
        addresses = await resolve(host, port, allow_private=allow_private)
    except UnsafeAddress as error:
        return Outcome(None, str(error))
    context = ssl.create_default_context() if scheme == "https" else None
    host_header = host if ":" not in host else f"[{host}]"
    if port != (443 if scheme == "https" else 80):
        host_header += f":{port}"
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {
            "Host": host_header,
            "User-Agent": USER_AGENT,
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Connection": "close",
            **headers,
        }.items()
    )
    request = f"POST {target} HTTP/1.1\r\n{head}\r\n".encode() + body
    try:
        async with asyncio.timeout(within):
            return await _exchange(addresses, port, host, context, request)
    except TimeoutError:
        return Outcome(None, f"No answer within {within:g} s.")


async def _exchange(
    addresses: Sequence[Any], port: int, host: str, context: ssl.SSLContext | None, request: bytes
) -> Outcome:
    failure = "No address could be reached."
    for address in addresses:
        try:
            reader, writer = await asyncio.open_connection(
                str(address), port, ssl=context, server_hostname=host if context else None
            )
        except (OSError, ssl.SSLError) as error:
            failure = f"Connection to {address} failed: {error}"[:MAX_ERROR]
            continue
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
        except (OSError, ssl.SSLError) as error:
            return Outcome(None, f"The exchange failed: {error}"[:MAX_ERROR])
        finally:
            writer.close()
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
            return Outcome(None, "The answer was not HTTP.")
        code = int(parts[1])
        return Outcome(code, None if 200 <= code < 300 else f"Answered {code}.")
    return Outcome(None, failure)


async def dispatch_due(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, *, limit: int = BATCH
) -> int:
    """Claim and send up to `limit` due deliveries; how many were attempted."""
    lease = 2 * settings.webhook_timeout + LEASE_MARGIN
    async with sessions.begin() as db:
        rows = (await db.execute(_CLAIM, {"limit": limit, "lease": lease})).all()
        claimed = [Claimed(*row) for row in rows]
        events = {}
        for item in claimed:
            if item.order_event_id not in events:
                events[item.order_event_id] = (
                    await db.execute(_EVENT, {"id": item.order_event_id})
                ).one()
    await asyncio.gather(
        *(_attempt(sessions, settings, item, events[item.order_event_id]) for item in claimed)
    )
    return len(claimed)


async def _attempt(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, item: Claimed, event: Any
) -> None:
    body = payload(item.event, event, settings.currency_digits)
    now = datetime.now(UTC)
    outcome = await post(
        item.url,
        body,
        sign(item.secret, item.webhook_id, now, body),
        within=settings.webhook_timeout,
        allow_private=settings.webhook_allow_private,
    )
    status, next_at = DeliveryStatus.SUCCEEDED, None
    if not outcome.succeeded:
        deadline = item.created_at + MAX_AGE
        now = datetime.now(UTC)
        if now >= deadline:
            status = DeliveryStatus.FAILED
        else:
            status = DeliveryStatus.PENDING
            delay = timedelta(seconds=retry_delay(item.attempt, settings.webhook_retry_base))
            next_at = min(now + delay, deadline)
        log.info("webhook delivery %s attempt %d failed: %s", item.id, item.attempt, outcome.error)
    WEBHOOK_DELIVERIES.labels(status.value.lower()).inc()  # succeeded, pending (a retry), failed
    async with sessions.begin() as db:
        await db.execute(
            _RECORD,
            {
                "id": item.id,
                "attempt": item.attempt,
                "status": status.value,
                "code": outcome.code,
                "error": outcome.error,
                "next": next_at,
            },
        )


async def run_dispatcher(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
    """Send due deliveries until cancelled: at once while there are more, otherwise after
    the poll interval."""
    while True:
        try:
            sent = await dispatch_due(sessions, settings)
        except Exception as error:  # try again at the next interval
            log_retried_failure(log, "webhook dispatch", error)
            sent = 0
        if not sent:
            await asyncio.sleep(settings.webhook_poll_interval)
