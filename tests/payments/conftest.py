"""Fixtures of the payments suite: the app with Stripe payments against a local fake Stripe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from settings import Settings
from tests.helpers import server_with_stripe, with_settings
from tests.live_server import Server
from tests.payments.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe, running


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    with running() as fake:
        yield fake


@pytest.fixture
def fake_stripe(stripe_server: FakeStripe) -> Iterator[FakeStripe]:
    stripe_server.reset()
    yield stripe_server
    stripe_server.reset()


@pytest.fixture
def settings(settings: Settings, fake_stripe: FakeStripe) -> Settings:
    """The test settings with payments through (the fake) Stripe and a 30-minute timeout."""
    return with_settings(
        settings,
        payments="stripe",
        stripe_secret_key=SECRET_KEY,
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=fake_stripe.url,
        payment_timeout=30,
    )


@pytest.fixture
def server_expiring_unpaid_orders(
    tmp_path: Path, settings: Settings, fake_stripe: FakeStripe
) -> Iterator[Server]:
    """`server_with_stripe` with a one-minute payment timeout."""
    running = server_with_stripe(tmp_path, settings, fake_stripe, timeout_minutes=1)
    yield running
    running.stop()


@pytest.fixture
def server_taking_payments(
    tmp_path: Path, settings: Settings, fake_stripe: FakeStripe
) -> Iterator[Server]:
    """`server_with_stripe` with PAYMENT_TIMEOUT=0."""
    running = server_with_stripe(tmp_path, settings, fake_stripe, timeout_minutes=0)
    yield running
    running.stop()
