"""The payment provider, Stripe, reached through the official `stripe` library.

`PaymentProvider` is what the rest of the code needs of a provider; `StripeProvider` is that
over Stripe's API (asynchronously, on the event loop, with the library's retries and
idempotency keys). Amounts cross this boundary in the provider's minor units:
`provider_amount` converts an order's total to them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
import stripe

from settings import Settings

log = logging.getLogger("orderly.payments")

# Stripe's own exponents where they differ from two decimals (docs.stripe.com/currencies):
# its zero-decimal currencies, its three-decimal ones, and ISK, which Stripe still takes as
# a two-decimal amount whose fraction is always 00.
_STRIPE_DIGITS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND",
         "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "JOD", "KWD", "OMR", "TND"), 3),
    "ISK": 2,
}  # fmt: skip
UNEXPECTED_STATE = "payment_intent_unexpected_state"
ALREADY_REFUNDED = "charge_already_refunded"


class ProviderError(Exception):
    """The provider failed or refused; `message` is safe to show to the user."""

    def __init__(self, message: str, *, code: str | None = None, status: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status  # the PaymentIntent's status, when the provider said it


class InvalidSignature(Exception):
    """A webhook delivery whose signature or timestamp does not verify."""


@dataclass(frozen=True, slots=True)
class Intent:
    """A PaymentIntent as created: its id, the secret the customer's browser confirms it
    with, its status and its amount in the provider's minor units."""

    id: str
    client_secret: str
    status: str
    amount: int
    currency: str


class PaymentProvider(Protocol):
    name: str

    async def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent: ...

    async def cancel_intent(self, intent_id: str) -> None: ...

    async def refund(self, intent_id: str, *, idempotency_key: str) -> str: ...

    def verify_event(self, payload: bytes, signature: str | None) -> dict[str, Any]: ...

    async def close(self) -> None: ...


def provider_amount(minor: int, currency: str, digits: int) -> int:
    """An amount of `minor` units (of a currency with `digits` places) in Stripe's units.

    Raises ValueError when Stripe cannot take it exactly (a three-decimal amount whose last
    digit is not 0)."""
    stripe_digits = _STRIPE_DIGITS.get(currency.upper(), 2)
    if stripe_digits >= digits:
        amount = minor * _power(stripe_digits - digits)
    else:
        amount, rest = divmod(minor, _power(digits - stripe_digits))
        if rest:
            raise ValueError(f"{currency} amounts go to Stripe with {stripe_digits} decimals")
    if stripe_digits == 3 and amount % 10:
        raise ValueError(f"Stripe takes {currency} amounts in multiples of 0.010")
    return amount


def from_provider_amount(amount: int, currency: str, digits: int) -> int:
    """Stripe's minor units back in units of a currency with `digits` places (rounded down)."""
    stripe_digits = _STRIPE_DIGITS.get(currency.upper(), 2)
    if stripe_digits >= digits:
        return amount // _power(stripe_digits - digits)
    return amount * _power(digits - stripe_digits)


def _power(exponent: int) -> int:
    return int(10**exponent)


class StripeProvider:
    """Stripe's PaymentIntents, refunds and signed webhook events."""

    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        api_base: str,
        timeout: float = 20.0,
        retries: int = 2,
    ) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base},
            max_network_retries=retries,
            http_client=self._http,
        )
        self._webhook_secret = webhook_secret

    async def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        """A PaymentIntent for `amount`; the same key returns the same intent (24 hours)."""
        try:
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": amount,
                    "currency": currency.lower(),
                    "metadata": metadata,
                    "automatic_payment_methods": {"enabled": True},
                },
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _provider_error(error, "create a payment") from None
        return Intent(
            id=intent.id,
            client_secret=intent.client_secret or "",
            status=intent.status,
            amount=intent.amount,
            currency=intent.currency,
        )

    async def cancel_intent(self, intent_id: str) -> None:
        """Cancel an unpaid PaymentIntent; one already canceled counts as done."""
        try:
            await self._client.v1.payment_intents.cancel_async(
                intent_id, {"cancellation_reason": "abandoned"}
            )
        except stripe.StripeError as error:
            failure = _provider_error(error, "cancel the payment")
            if failure.code == UNEXPECTED_STATE and failure.status == "canceled":
                return
            raise failure from None

    async def refund(self, intent_id: str, *, idempotency_key: str) -> str:
        """Refund the whole payment; the same key returns the same refund. Its id ("" when
        the payment had been refunded in full already)."""
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": intent_id, "reason": "requested_by_customer"},
                {"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            failure = _provider_error(error, "refund the payment")
            if failure.code == ALREADY_REFUNDED:  # refunded already (in the Dashboard, say)
                return ""
            raise failure from None
        return refund.id

    def verify_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event of a webhook delivery whose `Stripe-Signature` verifies over the raw
        body with a timestamp at most 5 minutes old (the library's check)."""
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, tolerance=300
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
            raise InvalidSignature(str(error)) from None
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise InvalidSignature("the body is not JSON") from None
        if not isinstance(event, dict):
            raise InvalidSignature("the body is not an event")
        return event

    async def close(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _provider_error(error: stripe.StripeError, doing: str) -> ProviderError:
    """A library error as a `ProviderError` with a message for the user (never the key)."""
    body = error.json_body if isinstance(error.json_body, dict) else {}
    detail = body.get("error") if isinstance(body.get("error"), dict) else {}
    intent = detail.get("payment_intent") if isinstance(detail, dict) else None
    status = intent.get("status") if isinstance(intent, dict) else None
    log.warning(
        "Stripe could not %s: %s %s (%s)", doing, type(error).__name__, error.code,
        error.http_status,
    )  # fmt: skip
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError) or (
        error.http_status is not None and error.http_status >= 500
    ):
        message = f"The payment provider is unavailable and could not {doing}; try again."
    elif isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        message = f"The shop's payment provider account refused to {doing}."
    else:
        reason = error.user_message or "it refused"
        message = f"The payment provider could not {doing}: {reason}"
    return ProviderError(message, code=error.code, status=status)


def provider_from_settings(settings: Settings) -> PaymentProvider | None:
    """The configured provider; None when payments are manual."""
    if settings.payments != "stripe":
        return None
    return StripeProvider(
        secret_key=settings.stripe_secret_key,
        webhook_secret=settings.stripe_webhook_secret,
        api_base=settings.stripe_api_base,
    )
