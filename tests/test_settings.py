"""Settings are validated once, with errors that say what to set."""

from __future__ import annotations

import pytest

from settings import SettingsError, load_settings

STRONG = "s" * 40


def test_development_defaults() -> None:
    settings = load_settings({}, secret_key=STRONG)
    assert settings.env == "development"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.cookie_secure is False
    assert settings.graphiql is True
    assert settings.currency == "USD"
    assert "http://127.0.0.1:8000" in settings.allowed_origins
    assert settings.shutdown_drain == 0


def test_production_needs_a_secret() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load_settings({"ORDERLY_ENV": "production", "DATABASE_URL": "postgresql://x/y"})


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(SettingsError, match="too short"):
        load_settings(
            {"ORDERLY_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "postgresql://x/y"}
        )


def test_production_ignores_the_development_fallback_secret() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        load_settings(
            {"ORDERLY_ENV": "production", "DATABASE_URL": "postgresql://x/y"}, secret_key=STRONG
        )


def test_production_defaults_are_secure() -> None:
    settings = load_settings(
        {"ORDERLY_ENV": "production", "SECRET_KEY": STRONG, "DATABASE_URL": "postgresql://x/y"}
    )
    assert settings.cookie_secure is True
    assert settings.graphiql is False
    assert settings.introspection is False
    assert settings.allowed_origins == ()
    assert settings.shutdown_drain == 5


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "0"), ("PORT", "http"), ("WORKERS", "0"), ("CURRENCY", "dollars"),
     ("LOG_LEVEL", "LOUD"), ("COOKIE_SECURE", "maybe"), ("ORDERLY_ENV", "staging"),
     ("DB_POOL_SIZE", "0"), ("DB_STATEMENT_TIMEOUT_MS", "-1"), ("SHUTDOWN_DRAIN", "-1")],
)  # fmt: skip
def test_invalid_values_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value}, secret_key=STRONG)


def test_values_are_read_from_the_environment() -> None:
    settings = load_settings(
        {"PORT": "9000", "WORKERS": "2", "ALLOWED_ORIGINS": "https://a.example/, https://b.example",
         "CURRENCY": "jpy", "DB_POOL_SIZE": "3", "DB_STATEMENT_TIMEOUT_MS": "1500"},
        secret_key=STRONG,
    )  # fmt: skip
    assert settings.port == 9000
    assert settings.workers == 2
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.currency == "JPY"
    assert settings.currency_digits == 0
    assert settings.db_pool_size == 3
    assert settings.db_statement_timeout_ms == 1500


def test_payments_are_manual_by_default_with_no_timeout() -> None:
    settings = load_settings({}, secret_key=STRONG)
    assert settings.payments == "manual"
    assert settings.payment_timeout == 0
    assert settings.stripe_api_base == "https://api.stripe.com"


def test_stripe_payments_default_to_a_thirty_minute_timeout() -> None:
    settings = load_settings(
        {"PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_test_1", "STRIPE_WEBHOOK_SECRET": "whsec_1",
         "STRIPE_API_BASE": "http://127.0.0.1:12111/"},
        secret_key=STRONG,
    )  # fmt: skip
    assert settings.payments == "stripe"
    assert settings.payment_timeout == 30
    assert settings.stripe_api_base == "http://127.0.0.1:12111"
    assert "sk_test_1" not in repr(settings) and "whsec_1" not in repr(settings)


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_stripe_without_both_secrets(missing: str) -> None:
    environ = {
        "ORDERLY_ENV": "production", "SECRET_KEY": STRONG, "DATABASE_URL": "postgresql://x/y",
        "PAYMENTS": "stripe", "STRIPE_SECRET_KEY": "sk_live_1", "STRIPE_WEBHOOK_SECRET": "whsec_1",
    }  # fmt: skip
    assert load_settings(environ).payments == "stripe"
    del environ[missing]
    with pytest.raises(SettingsError, match=missing):
        load_settings(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [("PAYMENTS", "paypal"), ("STRIPE_SECRET_KEY", "pk_test_1"),
     ("STRIPE_WEBHOOK_SECRET", "secret"), ("STRIPE_API_BASE", "api.stripe.com"),
     ("STRIPE_API_BASE", "https://api.stripe.com/v1"), ("PAYMENT_TIMEOUT", "-1"),
     ("PAYMENT_TIMEOUT", "soon")],
)  # fmt: skip
def test_invalid_payment_settings_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({"PAYMENTS": "stripe", name: value}, secret_key=STRONG)
