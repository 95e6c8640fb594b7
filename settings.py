"""Runtime configuration, built once at start-up from an environment mapping.

Only `server.py` hands `os.environ` to `load_settings`; everything else receives the
resulting `Settings` object.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Environment = Literal["development", "production"]
PaymentsMode = Literal["manual", "stripe"]
STRIPE_API_BASE = "https://api.stripe.com"

MIN_SECRET_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16
# ISO 4217 minor-unit exponents that differ from the usual two digits.
_MINOR_DIGITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0,
    "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(ValueError):
    """A configuration value is missing or invalid; the message says what to set."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment = "development"
    database_url: str | None = None
    # Session-level connections (migrations; LISTEN and advisory locks where used) when
    # DATABASE_URL goes through a transaction-pooling PgBouncer.
    database_direct_url: str | None = None
    db_pgbouncer: bool = False
    secret_key: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    allowed_origins: tuple[str, ...] = ()
    cookie_secure: bool = False
    currency: str = "USD"
    log_level: str = "INFO"
    db_pool_size: int = 10
    db_pool_timeout: float = 5.0
    db_statement_timeout_ms: int = 5000
    max_body_bytes: int = 1_048_576
    max_header_bytes: int = 16_384
    graphiql: bool = True
    api_docs: bool = True
    introspection: bool = True
    graphql_compiler: bool = True
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    shutdown_timeout: float = 20.0
    shutdown_drain: float = 0.0
    forwarded_allow_ips: str = "127.0.0.1"
    metrics_port: int = 0  # 0: no metrics port
    metrics_token: str = field(default="", repr=False)
    slow_request_ms: int = 1000  # 0: no slow-request log
    slow_query_ms: int = 500  # 0: no slow-query log
    otel_endpoint: str = ""  # OTLP/HTTP collector; "": no tracing
    otel_service: str = "orderly"
    webhook_allow_private: bool = False
    webhook_timeout: float = 10.0
    webhook_retry_base: float = 10.0
    webhook_poll_interval: float = 1.0
    data_dir: Path = field(default_factory=lambda: Path(".orderly"))
    payments: PaymentsMode = "manual"
    stripe_secret_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = STRIPE_API_BASE
    payment_timeout: int = 0  # minutes an unpaid PENDING order keeps its stock; 0: forever

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def direct_database_url(self) -> str | None:
        """The URL of a connection that keeps its session (DATABASE_DIRECT_URL, else
        DATABASE_URL)."""
        return self.database_direct_url or self.database_url

    @property
    def currency_digits(self) -> int:
        return _MINOR_DIGITS.get(self.currency, 2)


def load_settings(environ: Mapping[str, str], *, secret_key: str | None = None) -> Settings:
    """Build `Settings` from the environment, refusing unusable values.

    `secret_key` is the development fallback (kept with the local data) used when
    `SECRET_KEY` is unset outside production.
    """
    env = environ.get("ORDERLY_ENV", "development").strip().lower()
    if env not in ("development", "production"):
        raise SettingsError("ORDERLY_ENV must be 'development' or 'production'")
    production = env == "production"

    secret = environ.get("SECRET_KEY", "") or ("" if production else (secret_key or ""))
    if production and not secret:
        raise SettingsError(
            "SECRET_KEY is required in production: set it to a random string of at least "
            f"{MIN_SECRET_LENGTH} characters "
            "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    if secret and len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random characters"
        )
    if production and not environ.get("DATABASE_URL"):
        raise SettingsError(
            "DATABASE_URL is required in production (postgresql://user:pass@host/db)"
        )

    pgbouncer = _bool(environ, "DB_PGBOUNCER", False)
    if pgbouncer and not (environ.get("DATABASE_URL") and environ.get("DATABASE_DIRECT_URL")):
        raise SettingsError(
            "DB_PGBOUNCER=true needs DATABASE_URL (the PgBouncer address) and "
            "DATABASE_DIRECT_URL (PostgreSQL itself, for migrations and session-level work)"
        )
    if environ.get("DATABASE_DIRECT_URL") and not environ.get("DATABASE_URL"):
        raise SettingsError("DATABASE_DIRECT_URL is set but DATABASE_URL is not: set both")

    port = _int(environ, "PORT", 8000, low=1, high=65535)
    host = environ.get("HOST", "127.0.0.1")
    own = f"[{host}]" if ":" in host else host  # an IPv6 address is bracketed in a URL
    default_origins = "" if production else f"http://{own}:{port},http://localhost:{port}"
    origins = tuple(
        o.strip().rstrip("/")
        for o in environ.get("ALLOWED_ORIGINS", default_origins).split(",")
        if o.strip()
    )
    currency = environ.get("CURRENCY", "USD").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise SettingsError("CURRENCY must be a three-letter ISO 4217 code such as USD")
    allow_private = _bool(environ, "WEBHOOK_ALLOW_PRIVATE", False)
    if production and allow_private:
        raise SettingsError(
            "WEBHOOK_ALLOW_PRIVATE is for development and tests only: in production a webhook "
            "URL must be https to a public address"
        )
    log_level = environ.get("LOG_LEVEL", "INFO").strip().upper()
    if log_level not in _LOG_LEVELS:
        raise SettingsError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}")

    payments = _payments(environ, production)

    return Settings(
        env="production" if production else "development",
        database_url=environ.get("DATABASE_URL") or None,
        database_direct_url=environ.get("DATABASE_DIRECT_URL") or None,
        db_pgbouncer=pgbouncer,
        secret_key=secret,
        host=host,
        port=port,
        workers=_int(environ, "WORKERS", 1, low=1, high=64),
        allowed_origins=origins,
        cookie_secure=_bool(environ, "COOKIE_SECURE", production),
        currency=currency,
        log_level=log_level,
        db_pool_size=_int(environ, "DB_POOL_SIZE", 10, low=1, high=500),
        db_pool_timeout=_int(environ, "DB_POOL_TIMEOUT_MS", 5000, low=1, high=600_000) / 1000,
        db_statement_timeout_ms=_int(
            environ, "DB_STATEMENT_TIMEOUT_MS", 5000, low=0, high=3_600_000
        ),
        max_body_bytes=_int(environ, "MAX_BODY_BYTES", 1_048_576, low=1024, high=100 * 1_048_576),
        max_header_bytes=_int(environ, "MAX_HEADER_BYTES", 16_384, low=4096, high=1_048_576),
        graphiql=_bool(environ, "GRAPHIQL", not production),
        api_docs=_bool(environ, "API_DOCS", not production),
        introspection=_bool(environ, "GRAPHQL_INTROSPECTION", not production),
        graphql_compiler=_bool(environ, "GRAPHQL_COMPILER", True),
        access_token_ttl=_int(environ, "ACCESS_TOKEN_TTL", 900, low=30, high=86_400),
        refresh_token_ttl=_int(
            environ, "REFRESH_TOKEN_TTL", 30 * 86_400, low=300, high=365 * 86_400
        ),
        shutdown_timeout=float(_int(environ, "SHUTDOWN_TIMEOUT", 20, low=0, high=600)),
        shutdown_drain=float(
            _int(environ, "SHUTDOWN_DRAIN", 5 if production else 0, low=0, high=600)
        ),
        forwarded_allow_ips=environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1").strip(),
        **_observability(environ, port),
        webhook_allow_private=allow_private,
        webhook_timeout=_int(environ, "WEBHOOK_TIMEOUT_MS", 10_000, low=100, high=60_000) / 1000,
        webhook_retry_base=(
            _int(environ, "WEBHOOK_RETRY_BASE_MS", 10_000, low=1, high=3_600_000) / 1000
        ),
        webhook_poll_interval=(
            _int(environ, "WEBHOOK_POLL_INTERVAL_MS", 1000, low=10, high=60_000) / 1000
        ),
        data_dir=Path(environ.get("ORDERLY_DATA_DIR", ".orderly")),
        **payments,
    )


def _observability(environ: Mapping[str, str], port: int) -> dict[str, Any]:
    """METRICS_PORT, METRICS_TOKEN, the slow-operation thresholds and tracing."""
    metrics_port = _int(environ, "METRICS_PORT", 0, low=0, high=65535)
    if metrics_port and metrics_port == port:
        raise SettingsError(
            "METRICS_PORT must differ from PORT: the metrics are never served on the public "
            "port without METRICS_TOKEN"
        )
    token = environ.get("METRICS_TOKEN", "").strip()
    if token and len(token) < MIN_METRICS_TOKEN_LENGTH:
        raise SettingsError(
            f"METRICS_TOKEN is too short: use at least {MIN_METRICS_TOKEN_LENGTH} random characters"
        )
    otel_endpoint = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if otel_endpoint and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", otel_endpoint):
        raise SettingsError(
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://collector:4318"
        )
    return {
        "otel_endpoint": otel_endpoint,
        "otel_service": environ.get("OTEL_SERVICE_NAME", "").strip() or "orderly",
        "metrics_port": metrics_port,
        "metrics_token": token,
        "slow_request_ms": _int(environ, "SLOW_REQUEST_MS", 1000, low=0, high=3_600_000),
        "slow_query_ms": _int(environ, "SLOW_QUERY_MS", 500, low=0, high=3_600_000),
    }


def _payments(environ: Mapping[str, str], production: bool) -> dict[str, Any]:
    """PAYMENTS and its Stripe settings; production refuses Stripe without both secrets."""
    mode = environ.get("PAYMENTS", "manual").strip().lower() or "manual"
    if mode not in ("manual", "stripe"):
        raise SettingsError("PAYMENTS must be 'manual' or 'stripe'")
    key = environ.get("STRIPE_SECRET_KEY", "").strip()
    webhook_secret = environ.get("STRIPE_WEBHOOK_SECRET", "").strip()
    if mode == "stripe" and production and not (key and webhook_secret):
        raise SettingsError(
            "PAYMENTS=stripe needs STRIPE_SECRET_KEY (sk_live_... or a restricted rk_live_... "
            "key) and STRIPE_WEBHOOK_SECRET (whsec_..., the signing secret of the webhook "
            "endpoint) in production"
        )
    if key and not key.startswith(("sk_", "rk_")):
        raise SettingsError("STRIPE_SECRET_KEY must be a Stripe secret key (sk_... or rk_...)")
    if webhook_secret and not webhook_secret.startswith("whsec_"):
        raise SettingsError("STRIPE_WEBHOOK_SECRET must be a signing secret (whsec_...)")
    api_base = environ.get("STRIPE_API_BASE", "").strip().rstrip("/") or STRIPE_API_BASE
    if not re.fullmatch(r"https?://[^\s/?#]+", api_base):
        raise SettingsError(
            "STRIPE_API_BASE must be a scheme and host such as https://api.stripe.com"
        )
    if production and mode == "stripe" and not api_base.startswith("https://"):
        raise SettingsError("STRIPE_API_BASE must use https in production")
    default_timeout = 30 if mode == "stripe" else 0
    return {
        "payments": mode,
        "stripe_secret_key": key,
        "stripe_webhook_secret": webhook_secret,
        "stripe_api_base": api_base,
        "payment_timeout": _int(environ, "PAYMENT_TIMEOUT", default_timeout, low=0, high=43_200),
    }


def _int(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")
