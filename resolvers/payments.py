"""Payments through the provider: starting one, applying its webhook events, refunds, and
the expiry of orders left unpaid.

Starting a payment and the expiry sweep call the provider between transactions or while
holding only the rows they work on, so these functions take the session factory rather than
a session (like the sign-in functions of `resolvers/auth.py`): no database transaction is
ever open while the provider is waited for, except where the rows must stay locked for the
decision to hold (the refund of a cancelled order, the expiry of a claimed one), and each
provider call there carries an idempotency key or is safe to repeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.viewer import Viewer
from db.failures import log_retried_failure
from db.models import Order, Payment
from domain.codes import ErrorCode, PaymentStatus
from domain.errors import BusinessError
from resolvers.ids import to_global_id
from resolvers.payment_provider import (
    UNEXPECTED_STATE,
    PaymentProvider,
    ProviderError,
    from_provider_amount,
    provider_amount,
)
from resolvers.stock import restock_orders

log = logging.getLogger("orderly.payments")
Sessions = async_sessionmaker[AsyncSession]

TIMEOUT_NOTE = "payment timeout"
EXPIRY_BATCH = 20
# A PaymentIntent's status, as the API summarises it.
_INTENT_STATUS = {
    "requires_payment_method": PaymentStatus.REQUIRES_PAYMENT,
    "requires_confirmation": PaymentStatus.REQUIRES_PAYMENT,
    "requires_action": PaymentStatus.REQUIRES_PAYMENT,
    "requires_capture": PaymentStatus.PROCESSING,
    "processing": PaymentStatus.PROCESSING,
    "succeeded": PaymentStatus.SUCCEEDED,
    "canceled": PaymentStatus.CANCELED,
}
_REQUIRES = PaymentStatus.REQUIRES_PAYMENT
# Statuses a late or out-of-order event may no longer change.
_SETTLED = (PaymentStatus.SUCCEEDED.value, PaymentStatus.REFUNDED.value)
# Payments still open at the provider: the customer may yet pay, so expiry cancels them.
_OPEN = (PaymentStatus.REQUIRES_PAYMENT.value, PaymentStatus.FAILED.value)


@dataclass(frozen=True, slots=True)
class StartedPayment:
    payment: Payment
    created: bool  # False when the order's payment had already been started


def paid_note(provider: str, reference: str) -> str:
    """The note of the event that marks an order paid by the provider."""
    return f"Paid through {provider.capitalize()} ({reference})"


def refund_key(payment: Payment) -> str:
    """The one idempotency key of a payment's refund, whichever path refunds it."""
    return f"orderly-refund-{payment.provider_reference}"


def _disabled() -> BusinessError:
    return BusinessError.one(
        ErrorCode.PAYMENTS_DISABLED,
        "This shop takes no payments online; an administrator marks orders paid.",
    )


def _provider_failed(error: ProviderError, field: str | None = None) -> BusinessError:
    return BusinessError.one(
        ErrorCode.PAYMENT_PROVIDER_ERROR, error.message, [field] if field else None
    )


def _not_found() -> BusinessError:
    return BusinessError.one(ErrorCode.NOT_FOUND, "No such order.", ["orderId"])


def _not_pending(status: str) -> BusinessError:
    return BusinessError.one(
        ErrorCode.INVALID_TRANSITION,
        f"Only a PENDING order can be paid; this one is {status}.",
        ["orderId"],
    )


# --- reading ---------------------------------------------------------------------------------


async def payments_by_order_ids(ids: Sequence[int], *, db: AsyncSession) -> list[Payment | None]:
    """The payment of each order (None where none was started), in the order of `ids`."""
    rows = await db.scalars(select(Payment).where(Payment.order_id.in_(ids)))
    found = {row.order_id: row for row in rows}
    return [found.get(key) for key in ids]


def client_secret_for(viewer: Viewer | None, customer_id: int, payment: Payment) -> str | None:
    """The secret that confirms the payment: for the order's customer only."""
    return payment.client_secret if viewer is not None and viewer.id == customer_id else None


# --- starting a payment ----------------------------------------------------------------------


async def start_payment(
    sessions: Sessions,
    provider: PaymentProvider | None,
    *,
    viewer: Viewer,
    order_id: int,
    digits: int,
) -> StartedPayment:
    """Start the payment of the viewer's own PENDING order for its exact total, or return
    the one already started.

    The PaymentIntent is created with an idempotency key derived from the order, so repeated
    and concurrent calls reach one intent; the payment row is written only once the order is
    seen PENDING again under its row lock (an intent created for an order cancelled
    meanwhile is cancelled at the provider). Another customer's order is NOT_FOUND.
    """
    if provider is None:
        raise _disabled()
    async with sessions() as db:
        order = await db.get(Order, order_id)
        if order is None or order.customer_id != viewer.id:
            raise _not_found()
        if order.status != "PENDING":
            raise _not_pending(order.status)
        (existing,) = await payments_by_order_ids([order_id], db=db)
        if existing is not None:
            return StartedPayment(existing, created=False)
        total, currency, created_at = order.total_minor, order.currency, order.created_at
    try:
        amount = provider_amount(total, currency, digits)
    except ValueError as error:
        raise BusinessError.one(ErrorCode.PAYMENT_PROVIDER_ERROR, str(error)) from None
    public_id = to_global_id("Order", order_id)
    try:
        intent = await provider.create_intent(
            amount=amount,
            currency=currency,
            metadata={"order_id": public_id, "orderly_order": str(order_id)},
            # The order's creation time makes the key unique to this order even when two
            # databases (a reset development one, say) share one provider account.
            idempotency_key=f"orderly-order-{order_id}-{created_at.timestamp():.6f}",
        )
    except ProviderError as error:
        raise _provider_failed(error) from None
    async with sessions.begin() as db:
        status = await db.scalar(
            text("SELECT status FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id}
        )
        if status == "PENDING":
            inserted = await db.scalar(
                text("""
                    INSERT INTO payments (order_id, provider, provider_reference, client_secret,
                                          status, amount_minor, currency)
                    VALUES (:order_id, :provider, :reference, :secret, :status, :amount,
                            :currency)
                    ON CONFLICT (order_id) DO NOTHING
                    RETURNING id
                """),
                {
                    "order_id": order_id, "provider": provider.name, "reference": intent.id,
                    "secret": intent.client_secret,
                    "status": _INTENT_STATUS.get(intent.status, _REQUIRES).value,
                    "amount": total, "currency": currency,
                },
            )  # fmt: skip
            (payment,) = await payments_by_order_ids([order_id], db=db)
            assert payment is not None  # noqa: S101 - inserted, or there already
            return StartedPayment(payment, created=inserted is not None)
    try:  # the order was cancelled or expired while the intent was being created
        await provider.cancel_intent(intent.id)
    except ProviderError:
        log.warning("payment %s of cancelled order %s left open", intent.id, order_id)
    raise _not_pending(str(status))


# --- cancelling and refunding ----------------------------------------------------------------


async def settle_cancelled_order(
    provider: PaymentProvider | None, *, db: AsyncSession, order_id: int
) -> None:
    """For an order just cancelled in the caller's transaction: refund a payment that
    succeeded (idempotently; a failure is PAYMENT_PROVIDER_ERROR, and the caller's rollback
    leaves the order as it was), and cancel one still open at the provider (best effort: a
    payment that succeeds anyway is refunded when its webhook arrives)."""
    payment = await db.scalar(select(Payment).where(Payment.order_id == order_id).with_for_update())
    if payment is None:
        return
    if payment.status == PaymentStatus.SUCCEEDED.value:
        if provider is None:
            raise BusinessError.one(
                ErrorCode.PAYMENT_PROVIDER_ERROR,
                "This order was paid through the payment provider, which is not configured "
                "now: it cannot be refunded, so it is not cancelled.",
            )
        try:
            reference = await provider.refund(
                payment.provider_reference, idempotency_key=refund_key(payment)
            )
        except ProviderError as error:
            raise _provider_failed(error) from None
        await _mark_refunded(payment, reference, db=db)
    elif payment.status in _OPEN and provider is not None:
        try:
            await provider.cancel_intent(payment.provider_reference)
            await _set_status(payment.id, PaymentStatus.CANCELED, db=db)
        except ProviderError:
            log.warning("payment %s of cancelled order %s left open", payment.id, order_id)


async def _mark_refunded(payment: Payment, reference: str | None, *, db: AsyncSession) -> None:
    await db.execute(
        text("""
            UPDATE payments SET status = 'REFUNDED', refunded_minor = amount_minor,
                refund_reference = coalesce(:reference, refund_reference), updated_at = now()
            WHERE id = :id
        """),
        {"id": payment.id, "reference": reference or None},
    )


async def _set_status(
    payment_id: int, status: PaymentStatus, failure: str | None = None, *, db: AsyncSession
) -> None:
    await db.execute(
        text("""
            UPDATE payments SET status = :status, updated_at = now(),
                failure_message = CASE WHEN :status = 'FAILED' THEN :failure
                                       ELSE failure_message END
            WHERE id = :id
        """),
        {"id": payment_id, "status": status.value, "failure": failure},
    )


# --- webhook events --------------------------------------------------------------------------

HANDLED_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.canceled",
        "charge.refunded",
    }
)


async def apply_provider_event(
    sessions: Sessions, provider: PaymentProvider, event: dict[str, Any], *, digits: int
) -> str:
    """Apply one verified provider event exactly once; what was done, for the log.

    The event's id is recorded in the transaction that applies it: a concurrent delivery of
    the same event waits on that row and then finds it, a repeated one finds it at once.
    Event types not handled here are acknowledged and ignored. A refund that fails raises
    `ProviderError`, rolling everything back so that the provider delivers the event again.
    """
    event_id, kind = event.get("id"), event.get("type")
    data = event.get("data")
    subject = data.get("object") if isinstance(data, dict) else None
    if not isinstance(event_id, str) or not isinstance(kind, str) or not isinstance(subject, dict):
        return "ignored: not an event"
    if kind not in HANDLED_EVENTS:
        return f"ignored: {kind}"
    intent_id = subject.get("payment_intent") if kind.startswith("charge.") else subject.get("id")
    async with sessions.begin() as db:
        claimed = await db.scalar(
            text("""
                INSERT INTO payment_provider_events (provider, event_id, type, outcome)
                VALUES (:provider, :id, :type, 'applying')
                ON CONFLICT DO NOTHING RETURNING event_id
            """),
            {"provider": provider.name, "id": event_id, "type": kind},
        )
        if claimed is None:
            return "duplicate"
        payment = await _lock_payment(intent_id, db=db)
        if payment is None:
            outcome = "ignored: not a payment of this shop"
        elif kind == "payment_intent.succeeded":
            outcome = await _succeeded(provider, payment, subject, digits, db=db)
        elif kind == "charge.refunded":
            outcome = await _refunded(payment, subject, digits, db=db)
        else:
            outcome = await _progressed(payment, kind, subject, db=db)
        await db.execute(
            text("""
                UPDATE payment_provider_events SET outcome = :outcome, payment_id = :payment
                WHERE provider = :provider AND event_id = :id
            """),
            {"outcome": outcome, "payment": payment.id if payment else None,
             "provider": provider.name, "id": event_id},
        )  # fmt: skip
    return outcome


async def _lock_payment(intent_id: Any, *, db: AsyncSession) -> Payment | None:
    """The payment of a PaymentIntent, its order's row locked first (as every other path
    that changes both locks them), then its own."""
    if not isinstance(intent_id, str):
        return None
    order_id = await db.scalar(
        select(Payment.order_id).where(Payment.provider_reference == intent_id)
    )
    if order_id is None:
        return None
    await db.execute(text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order_id})
    return await db.scalar(
        select(Payment)
        .where(Payment.order_id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def _succeeded(
    provider: PaymentProvider,
    payment: Payment,
    intent: dict[str, Any],
    digits: int,
    *,
    db: AsyncSession,
) -> str:
    expected = provider_amount(payment.amount_minor, payment.currency, digits)
    received = intent.get("amount_received", intent.get("amount"))
    currency = intent.get("currency")
    if (
        received != expected
        or not isinstance(currency, str)
        or currency.upper() != payment.currency
    ):
        log.error(
            "payment %s (order %s): Stripe reports %r %r received, the order expects %d %s; "
            "the order is not marked paid",
            payment.provider_reference, payment.order_id, received, currency, expected,
            payment.currency,
        )  # fmt: skip
        return "amount mismatch: not paid"
    if payment.status == PaymentStatus.REFUNDED.value:
        return "already refunded"
    await _set_status(payment.id, PaymentStatus.SUCCEEDED, db=db)
    moved = await db.scalar(
        text("""
            UPDATE orders SET status = 'PAID', updated_at = now()
            WHERE id = :id AND status = 'PENDING' RETURNING id
        """),
        {"id": payment.order_id},
    )
    if moved is not None:
        await db.execute(
            text("""
                INSERT INTO order_events (order_id, from_status, to_status, actor_id, note)
                VALUES (:id, 'PENDING', 'PAID', NULL, :note)
            """),
            {"id": payment.order_id, "note": paid_note(provider.name, payment.provider_reference)},
        )
        return "paid"
    status = await db.scalar(select(Order.status).where(Order.id == payment.order_id))
    if status != "CANCELLED":
        return f"already {status}"
    # The order was cancelled (or expired) before the money arrived: give it back.
    try:
        reference = await provider.refund(
            payment.provider_reference, idempotency_key=refund_key(payment)
        )
    except ProviderError:
        log.error("payment %s of cancelled order %s: refund failed", payment.id, payment.order_id)
        raise
    await _mark_refunded(payment, reference, db=db)
    log.warning("payment %s arrived for cancelled order %s: refunded", payment.id, payment.order_id)
    return "refunded: order cancelled"


async def _refunded(
    payment: Payment, charge: dict[str, Any], digits: int, *, db: AsyncSession
) -> str:
    refunded = charge.get("amount_refunded")
    if not isinstance(refunded, int) or refunded < 0:
        return "ignored: no refunded amount"
    minor = min(from_provider_amount(refunded, payment.currency, digits), payment.amount_minor)
    full = charge.get("refunded") is True or minor >= payment.amount_minor
    await db.execute(
        text("""
            UPDATE payments SET refunded_minor = greatest(refunded_minor, :minor),
                status = CASE WHEN :full THEN 'REFUNDED' ELSE status END, updated_at = now()
            WHERE id = :id
        """),
        {"id": payment.id, "minor": minor, "full": full},
    )
    return "refunded" if full else "partly refunded"


async def _progressed(
    payment: Payment, kind: str, intent: dict[str, Any], *, db: AsyncSession
) -> str:
    """payment_failed, processing and canceled: recorded unless the payment has settled."""
    if payment.status in _SETTLED:
        return f"ignored: payment already {payment.status}"
    if kind == "payment_intent.payment_failed":
        error = intent.get("last_payment_error")
        message = error.get("message") if isinstance(error, dict) else None
        failure = str(message)[:1000] if message else "The payment failed."
        await _set_status(payment.id, PaymentStatus.FAILED, failure, db=db)
        return "failed"
    status = PaymentStatus.PROCESSING if kind.endswith("processing") else PaymentStatus.CANCELED
    await _set_status(payment.id, status, db=db)
    return status.value.lower()


# --- expiry ----------------------------------------------------------------------------------

# The oldest due orders that no other sweeper holds, with their open payments. An order
# whose payment is processing or has succeeded is left to its webhook.
_CLAIM = text("""
    SELECT o.id, p.id AS payment_id, p.provider_reference, p.status AS payment_status
    FROM orders AS o LEFT JOIN payments AS p ON p.order_id = o.id
    WHERE o.status = 'PENDING' AND o.created_at < now() - make_interval(mins => :minutes)
      AND (p.id IS NULL OR p.status NOT IN ('PROCESSING', 'SUCCEEDED', 'REFUNDED'))
    ORDER BY o.created_at, o.id
    LIMIT :batch
    FOR UPDATE OF o SKIP LOCKED
""")

_EXPIRE = text("""
    WITH expired AS (
        UPDATE orders SET status = 'CANCELLED', updated_at = now()
        WHERE id = ANY(CAST(:ids AS bigint[])) AND status = 'PENDING'
        RETURNING id
    ), events AS (
        INSERT INTO order_events (order_id, from_status, to_status, actor_id, note)
        SELECT id, 'PENDING', 'CANCELLED', NULL, :note FROM expired
    )
    SELECT id FROM expired
""")


async def expire_unpaid_orders(
    sessions: Sessions,
    provider: PaymentProvider | None,
    *,
    timeout_minutes: int,
    batch: int = EXPIRY_BATCH,
) -> int:
    """Cancel every PENDING order unpaid for longer than `timeout_minutes` (note "payment
    timeout", no actor), restocking it in the same transaction; how many were expired.

    Each batch claims its orders with FOR UPDATE SKIP LOCKED, so any number of sweepers
    share the work and each order is expired once. Its open PaymentIntent is cancelled at
    the provider first: one the provider says can no longer be cancelled (it is being paid)
    keeps its order for the webhook; one the provider cannot be asked about now is expired
    anyway, and a payment that still succeeds is refunded when its webhook arrives.
    """
    if timeout_minutes <= 0:
        return 0
    total = 0
    while True:
        async with sessions.begin() as db:
            rows = list(await db.execute(_CLAIM, {"minutes": timeout_minutes, "batch": batch}))
            if not rows:
                return total
            keep = await _cancel_intents(provider, rows, db=db)
            ids = [row.id for row in rows if row.id not in keep]
            expired = list(await db.scalars(_EXPIRE, {"ids": ids, "note": TIMEOUT_NOTE}))
            if expired:
                await restock_orders(expired, db=db)
        total += len(expired)
        if expired:
            log.info("expired %d unpaid order(s)", len(expired))
        if len(rows) < batch:
            return total


async def _cancel_intents(
    provider: PaymentProvider | None, rows: Sequence[Any], *, db: AsyncSession
) -> set[int]:
    """Cancel the claimed orders' open PaymentIntents; the orders to keep (being paid)."""
    open_rows = [row for row in rows if row.payment_id is not None and row.payment_status in _OPEN]
    if provider is None or not open_rows:
        return set()
    results = await asyncio.gather(
        *(provider.cancel_intent(row.provider_reference) for row in open_rows),
        return_exceptions=True,
    )
    keep: set[int] = set()
    for row, result in zip(open_rows, results, strict=True):
        if isinstance(result, ProviderError) and result.code == UNEXPECTED_STATE:
            keep.add(row.id)  # paid or being paid: its webhook decides
            await _set_status(row.payment_id, PaymentStatus.PROCESSING, db=db)
        elif isinstance(result, BaseException):
            log.warning("payment %s of expired order %s left open", row.payment_id, row.id)
        else:
            await _set_status(row.payment_id, PaymentStatus.CANCELED, db=db)
    return keep


async def run_expiry_sweeper(
    sessions: Sessions,
    provider: PaymentProvider | None,
    *,
    timeout_minutes: int,
    interval: float | None = None,
) -> None:
    """Expire unpaid orders every `interval` seconds (by default 30, or four times per
    timeout when that is shorter), jittered so that the workers of a deployment do not all
    sweep at once, until cancelled. Every worker runs one."""
    every = interval if interval is not None else min(30.0, timeout_minutes * 15.0)
    while True:
        await asyncio.sleep(every * random.uniform(0.5, 1.5))  # noqa: S311 - jitter
        try:
            await expire_unpaid_orders(sessions, provider, timeout_minutes=timeout_minutes)
        except Exception as error:  # the next pass retries
            log_retried_failure(log, "expiring unpaid orders", error)
