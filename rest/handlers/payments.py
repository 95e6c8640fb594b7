"""`/api/orders/{id}/payment`."""

from __future__ import annotations

from starlette.responses import Response

from resolvers import payments
from resolvers.ids import from_global_id
from rest.endpoint import Call
from rest.representation import payment_out
from rest.responses import json_response


async def start_payment(call: Call[None, None]) -> Response:
    """201 with the payment started now; 200 with the one started before."""
    viewer = call.signed_in()
    order_id = from_global_id(call.request.path_params["id"], "Order")
    started = await payments.start_payment(
        call.app.sessions, call.app.payments, viewer=viewer, order_id=order_id,
        digits=call.app.settings.currency_digits,
    )  # fmt: skip
    out = payment_out(started.payment, viewer.id, viewer, call.app.settings)
    return json_response(out, 201 if started.created else 200)
