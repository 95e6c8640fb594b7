"""Access tokens (short-lived JWTs) and refresh tokens (opaque, stored only as hashes)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "orderly"
AUDIENCE = "orderly-api"
ACCESS_TYPE = "access"
LEEWAY_SECONDS = 10
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti", "sid", "typ")
# Compact JWS: three unpadded base64url segments. The decoder is lenient (padding, stray
# trailing bits), which would let one signature be written several ways.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)")
_VERIFIED_CACHE_SIZE = 4096
_verified: dict[tuple[str, str], tuple[AccessClaims, float, float]] = {}


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    """The tokens of a sign-in: an access token and the refresh token that renews it."""

    access_token: str
    refresh_token: str


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: int
    session_id: uuid.UUID


def issue_access_token(
    secret: str,
    *,
    user_id: int,
    session_id: uuid.UUID,
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    """A signed access token for one user within one login session."""
    issued = now or datetime.now(UTC)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "sid": str(session_id),
        "jti": secrets.token_urlsafe(12),
        "typ": ACCESS_TYPE,
        "iat": issued,
        "nbf": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_access_token(secret: str, token: str) -> AccessClaims | None:
    """The claims of a valid access token, or None for anything forged, stale or malformed.

    Only the one canonical spelling of a token is valid: no padding, no other encoding of
    the same signature bytes. A token checked once is remembered (bounded) with its validity
    window, so each later request with it only compares the clock.
    """
    now = time.time()
    known = _verified.get((secret, token))
    if known is not None:
        claims, not_before, expires = known
        return claims if not_before <= now < expires else None
    checked = _verify(secret, token)
    if checked is None:
        return None
    _verified[(secret, token)] = checked
    if len(_verified) > _VERIFIED_CACHE_SIZE:
        del _verified[next(iter(_verified))]  # the oldest entry
    claims, not_before, expires = checked
    return claims if not_before <= now < expires else None


def _verify(secret: str, token: str) -> tuple[AccessClaims, float, float] | None:
    """The claims of a token whose signature and claims check out now, with the window in
    which they stay valid (PyJWT's own bounds, leeway included)."""
    compact = _COMPACT.fullmatch(token)
    if compact is None or not _canonical_base64url(compact.group(1)):
        return None
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS), "verify_signature": True},
        )
        if claims["typ"] != ACCESS_TYPE:
            return None
        user_id = int(claims["sub"])
        session_id = uuid.UUID(str(claims["sid"]))
        not_before = max(float(claims["nbf"]), float(claims["iat"])) - LEEWAY_SECONDS
        expires = float(claims["exp"]) + LEEWAY_SECONDS
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        return None
    return AccessClaims(user_id=user_id, session_id=session_id), not_before, expires


def _canonical_base64url(segment: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == segment


def new_refresh_token() -> str:
    """An opaque refresh token with 256 random bits."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> bytes:
    """The only form in which refresh tokens are stored."""
    return hashlib.sha256(token.encode()).digest()
