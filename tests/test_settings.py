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


def test_webhooks_reach_public_https_addresses_only_by_default() -> None:
    settings = load_settings({}, secret_key=STRONG)
    assert settings.webhook_allow_private is False
    assert settings.webhook_timeout == 10
    assert settings.webhook_retry_base == 10


def test_webhook_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_TIMEOUT_MS": "2500",
         "WEBHOOK_RETRY_BASE_MS": "20", "WEBHOOK_POLL_INTERVAL_MS": "50"},
        secret_key=STRONG,
    )  # fmt: skip
    assert settings.webhook_allow_private is True
    assert settings.webhook_timeout == 2.5
    assert settings.webhook_retry_base == 0.02
    assert settings.webhook_poll_interval == 0.05


def test_production_refuses_private_webhook_addresses() -> None:
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_PRIVATE"):
        load_settings(
            {"ORDERLY_ENV": "production", "SECRET_KEY": STRONG,
             "DATABASE_URL": "postgresql://x/y", "WEBHOOK_ALLOW_PRIVATE": "true"}
        )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEBHOOK_ALLOW_PRIVATE", "perhaps"), ("WEBHOOK_TIMEOUT_MS", "10"),
     ("WEBHOOK_RETRY_BASE_MS", "0"), ("WEBHOOK_POLL_INTERVAL_MS", "soon")],
)  # fmt: skip
def test_invalid_webhook_settings_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value}, secret_key=STRONG)


def test_pgbouncer_mode_needs_both_urls() -> None:
    bouncer = "postgresql://app@pgbouncer:6432/orderly"
    direct = "postgresql://app@db:5432/orderly"
    settings = load_settings(
        {"DB_PGBOUNCER": "true", "DATABASE_URL": bouncer, "DATABASE_DIRECT_URL": direct},
        secret_key=STRONG,
    )
    assert settings.db_pgbouncer is True
    assert (settings.database_url, settings.direct_database_url) == (bouncer, direct)
    with pytest.raises(SettingsError, match="DATABASE_DIRECT_URL"):
        load_settings({"DB_PGBOUNCER": "true", "DATABASE_URL": bouncer}, secret_key=STRONG)
    with pytest.raises(SettingsError, match="DATABASE_URL is not"):
        load_settings({"DATABASE_DIRECT_URL": direct}, secret_key=STRONG)
    with pytest.raises(SettingsError, match="DB_PGBOUNCER must be true or false"):
        load_settings({"DB_PGBOUNCER": "transaction"}, secret_key=STRONG)


def test_without_a_direct_url_session_work_uses_the_database_url() -> None:
    settings = load_settings({"DATABASE_URL": "postgresql://x/y"}, secret_key=STRONG)
    assert settings.db_pgbouncer is False
    assert settings.direct_database_url == "postgresql://x/y"


def test_metrics_and_slow_logs_settings() -> None:
    defaults = load_settings({}, secret_key=STRONG)
    assert (defaults.metrics_port, defaults.metrics_token) == (0, "")
    assert (defaults.slow_request_ms, defaults.slow_query_ms) == (1000, 500)
    settings = load_settings(
        {"METRICS_PORT": "9100", "METRICS_TOKEN": "t" * 16, "SLOW_QUERY_MS": "0"},
        secret_key=STRONG,
    )
    assert (settings.metrics_port, settings.metrics_token, settings.slow_query_ms) == (
        9100,
        "t" * 16,
        0,
    )
    assert "t" * 16 not in repr(settings)
    with pytest.raises(SettingsError, match="METRICS_PORT must differ from PORT"):
        load_settings({"METRICS_PORT": "8000"}, secret_key=STRONG)
    with pytest.raises(SettingsError, match="METRICS_TOKEN is too short"):
        load_settings({"METRICS_TOKEN": "short"}, secret_key=STRONG)
    with pytest.raises(SettingsError, match="SLOW_REQUEST_MS must be between"):
        load_settings({"SLOW_REQUEST_MS": "-1"}, secret_key=STRONG)


def test_tracing_settings() -> None:
    assert load_settings({}, secret_key=STRONG).otel_endpoint == ""
    settings = load_settings(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SERVICE_NAME": "shop"},
        secret_key=STRONG,
    )
    assert (settings.otel_endpoint, settings.otel_service) == ("http://collector:4318", "shop")
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT must be an http"):
        load_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, secret_key=STRONG)
