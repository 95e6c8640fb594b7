"""A local stand-in for the few Stripe API endpoints Orderly calls, as a real HTTP server.

It runs in a thread of the test process, so the real `stripe` library talks to it over
HTTP exactly as it talks to Stripe, and it checks what the library sends: the secret key,
form-encoded parameters, idempotency keys (a key repeated with other parameters is refused,
as Stripe refuses it). Tests read what it received, change an intent's state as a customer
paying would, and make it fail on purpose.

    POST /v1/payment_intents                 create (amount, currency, metadata[...])
    POST /v1/payment_intents/{id}/cancel     cancel an unpaid intent
    POST /v1/refunds                         refund a succeeded intent (payment_intent)
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

SECRET_KEY = "sk_test_orderly_fake_0123456789"
WEBHOOK_SECRET = "whsec_orderly_fake_0123456789abcdef"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    params: dict[str, str]  # form fields as sent ("metadata[order_id]")

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass(slots=True)
class Failure:
    path_prefix: str
    status: int
    code: str | None = None
    remaining: int = 1


@dataclass(slots=True)
class FakeStripe:
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    _replies: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.intents.clear()
            self.refunds.clear()
            self.failures.clear()
            self._replies.clear()

    def calls(self, method: str, path_prefix: str) -> list[Request]:
        with self._lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    def fail(
        self, path_prefix: str, status: int, *, code: str | None = None, times: int = 1
    ) -> None:
        """Answer the next `times` requests to paths starting with `path_prefix` with an error."""
        with self._lock:
            self.failures.append(Failure(path_prefix, status, code, times))

    def set_status(self, intent_id: str, status: str) -> dict[str, Any]:
        """Move an intent as the customer's bank would (`succeeded`, `processing`...)."""
        with self._lock:
            intent = self.intents[intent_id]
            intent["status"] = status
            if status == "succeeded":
                intent["amount_received"] = intent["amount"]
            return dict(intent)

    # --- the API ------------------------------------------------------------------------

    def handle(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self.requests.append(request)
            if request.headers.get("authorization") != f"Bearer {SECRET_KEY}":
                return _error(401, "invalid_request_error", None, "Invalid API Key provided.")
            for failure in self.failures:
                if request.path.startswith(failure.path_prefix) and failure.remaining > 0:
                    failure.remaining -= 1
                    kind = "api_error" if failure.status >= 500 else "card_error"
                    return _error(failure.status, kind, failure.code, "Failing on purpose.")
            key = request.idempotency_key
            if request.method == "POST" and key is not None and key in self._replies:
                params, status, body = self._replies[key]
                if params != request.params:
                    return _error(
                        400, "idempotency_error", None,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with.",
                    )  # fmt: skip
                return status, body, {"idempotent-replayed": "true"}
            status, body, headers = self._route(request)
            if request.method == "POST" and key is not None and status < 500:
                self._replies[key] = (request.params, status, body)
            return status, body, headers

    def _route(self, request: Request) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and parts == ["v1", "payment_intents"]:
            return self._create_intent(request.params)
        if request.method == "POST" and len(parts) == 4 and parts[3] == "cancel":
            return self._cancel_intent(parts[2])
        if request.method == "POST" and parts == ["v1", "refunds"]:
            return self._refund(request.params)
        return _error(
            404, "invalid_request_error", None, f"Unrecognized request URL {request.path}"
        )

    def _create_intent(self, params: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        amount, currency = params.get("amount", ""), params.get("currency", "")
        if not amount.isdigit() or int(amount) < 1:
            return _error(400, "invalid_request_error", "parameter_invalid_integer", "Bad amount.")
        if not currency.isalpha() or not currency.islower() or len(currency) != 3:
            return _error(400, "invalid_request_error", "parameter_invalid", "Bad currency.")
        intent_id = f"pi_fake{next(self._ids)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(amount),
            "amount_received": 0,
            "currency": currency,
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")
            },
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return 200, dict(intent), {}

    def _cancel_intent(self, intent_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return _error(
                404, "invalid_request_error", "resource_missing", "No such payment_intent."
            )
        if intent["status"] in ("succeeded", "canceled", "processing"):
            status, body, headers = _error(
                400, "invalid_request_error", "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
            )  # fmt: skip
            body["error"]["payment_intent"] = dict(intent)
            return status, body, headers
        intent["status"] = "canceled"
        return 200, dict(intent), {}

    def _refund(self, params: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        intent = self.intents.get(params.get("payment_intent", ""))
        if intent is None or intent["status"] != "succeeded":
            return _error(400, "invalid_request_error", None, "This PaymentIntent has no charge.")
        if intent.get("refunded"):
            return _error(400, "invalid_request_error", "charge_already_refunded", "Refunded.")
        intent["refunded"] = True
        refund_id = f"re_fake{next(self._ids)}"
        refund = {
            "id": refund_id, "object": "refund", "amount": intent["amount"],
            "currency": intent["currency"], "payment_intent": intent["id"],
            "status": "succeeded",
        }  # fmt: skip
        self.refunds[refund_id] = refund
        return 200, dict(refund), {}


def _error(
    status: int, kind: str, code: str | None, message: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code is not None:
        error["code"] = code
    # Tell the library not to retry: a failure injected on purpose happens once per call.
    return status, {"error": error}, {"stripe-should-retry": "false"}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeStripe
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode()
        content_type = self.headers.get("content-type", "")
        assert not raw or content_type.startswith("application/x-www-form-urlencoded"), content_type
        request = Request(
            method="POST",
            path=self.path.split("?")[0],
            headers={k.lower(): v for k, v in self.headers.items()},
            params=dict(parse_qsl(raw, keep_blank_values=True)),
        )
        status, body, headers = self.fake.handle(request)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", f"req_fake{secrets.token_hex(4)}")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def running() -> Iterator[FakeStripe]:
    """A fake Stripe listening on a free loopback port until the block ends."""
    fake = FakeStripe()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="fake-stripe", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
