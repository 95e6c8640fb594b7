"""`POST /webhooks/stripe`: Stripe's event deliveries.

Outside `/graphql` and `/api`, so none of their cookie and cross-site rules apply: Stripe
sends no cookies and no Origin, and the `Stripe-Signature` header over the raw body is the
authentication. Answers: 200 once the event is applied (or was before, or is of a type not
handled here), 400 for a delivery that does not verify (changing nothing), 404 when payments
are manual, and 503 when the change could not be made now (a refund the provider refused, the
database unavailable): Stripe delivers the event again later.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from resolvers.payment_provider import InvalidSignature, ProviderError
from resolvers.payments import apply_provider_event
from web.problems import problem_response
from web.state import AppState

log = logging.getLogger("orderly.payments")


async def stripe_webhook(request: Request) -> Response:
    state: AppState = request.app.state.orderly
    provider = state.payments
    if provider is None:
        return problem_response(404, "NOT_FOUND", "This shop takes no payments through Stripe.")
    body = await request.body()
    try:
        event = provider.verify_event(body, request.headers.get("stripe-signature"))
    except InvalidSignature as error:
        log.warning("Stripe webhook refused: %s", error)
        return problem_response(
            400, "INVALID_SIGNATURE", "The Stripe-Signature header does not verify."
        )
    try:
        outcome = await apply_provider_event(
            state.sessions, provider, event, digits=state.settings.currency_digits
        )
    except ProviderError:
        return problem_response(
            503, "UNAVAILABLE", "The event could not be applied now; deliver it again.",
            headers={"Retry-After": "60"},
        )  # fmt: skip
    log.info("Stripe event %s (%s): %s", event.get("id"), event.get("type"), outcome)
    return JSONResponse({"received": True})
