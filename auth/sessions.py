"""The login-session store: sessions, rotating refresh tokens, and revocation.

A login session is the family of every refresh token descended from one sign-in. Access
tokens name their session, and a request is accepted only while that session is live, so
revoking the session ends every token at once, on every worker.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.tokens import (
    AccessClaims,
    IssuedTokens,
    hash_refresh_token,
    issue_access_token,
    new_refresh_token,
)
from auth.viewer import Role, Viewer
from settings import Settings

_START = text("""
    WITH login AS (
        INSERT INTO login_sessions (user_id, expires_at, user_agent, ip_address)
        VALUES (:user_id, :expires_at, :user_agent, :ip_address)
        RETURNING id, expires_at
    )
    INSERT INTO refresh_tokens (session_id, token_hash, expires_at)
    SELECT id, :token_hash, expires_at FROM login
    RETURNING session_id
""")

# Spends the presented token and issues its successor in one statement: of two concurrent
# refreshes with one token, exactly one finds it unspent.
_ROTATE = text("""
    WITH spent AS (
        UPDATE refresh_tokens AS t SET used_at = now()
        FROM login_sessions AS s
        WHERE t.token_hash = :token_hash AND t.used_at IS NULL AND t.revoked_at IS NULL
          AND t.expires_at > now()
          AND s.id = t.session_id AND s.revoked_at IS NULL AND s.expires_at > now()
        RETURNING t.id, t.session_id, t.expires_at, s.user_id
    ), successor AS (
        INSERT INTO refresh_tokens (session_id, parent_id, token_hash, expires_at)
        SELECT session_id, id, :new_hash, expires_at FROM spent
        RETURNING session_id
    )
    SELECT spent.session_id, spent.user_id FROM spent JOIN successor USING (session_id)
""")

# A spent (or revoked) token presented again: end its whole login session.
_REVOKE_FAMILY = text("""
    WITH family AS (
        UPDATE login_sessions SET revoked_at = now()
        WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = :token_hash)
          AND revoked_at IS NULL
        RETURNING id
    )
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE session_id IN (SELECT id FROM family) AND revoked_at IS NULL
""")

_REVOKE_SESSION = text("""
    WITH ended AS (
        UPDATE login_sessions SET revoked_at = now()
        WHERE id = :session_id AND revoked_at IS NULL
        RETURNING id
    )
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE session_id IN (SELECT id FROM ended) AND revoked_at IS NULL
""")

_REVOKE_USER = text("""
    WITH ended AS (
        UPDATE login_sessions SET revoked_at = now()
        WHERE user_id = :user_id AND revoked_at IS NULL
        RETURNING id
    )
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE session_id IN (SELECT id FROM ended) AND revoked_at IS NULL
""")

# The live session and its user, in the driver's own parameter style: this runs on every
# signed-in request, straight on the driver (`db.driver`).
_VIEWER_SELECT = """
    SELECT u.id, u.email, u.name, u.role, u.created_at
    FROM login_sessions AS s JOIN users AS u ON u.id = s.user_id
    WHERE s.id = ${session} AND s.user_id = ${user} AND s.revoked_at IS NULL
      AND s.expires_at > now()
"""


def viewer_sql(first: int = 1) -> str:
    """The SELECT of a live session's viewer, its two values (`viewer_parameters`) bound at
    `$first` and the one after, so it can also be joined into a larger statement."""
    return _VIEWER_SELECT.format(session=first, user=first + 1)


VIEWER_SQL = viewer_sql()

_SESSION_OF_TOKEN = text("SELECT session_id FROM refresh_tokens WHERE token_hash = :token_hash")


def _access(settings: Settings, user_id: int, session_id: uuid.UUID) -> str:
    return issue_access_token(
        settings.secret_key,
        user_id=user_id,
        session_id=session_id,
        ttl_seconds=settings.access_token_ttl,
    )


async def start_session(
    db: AsyncSession,
    settings: Settings,
    *,
    user_id: int,
    user_agent: str | None,
    ip_address: str | None,
) -> IssuedTokens:
    """Open a login session for `user_id` and issue its first tokens."""
    refresh = new_refresh_token()
    session_id = await db.scalar(
        _START,
        {
            "user_id": user_id,
            "expires_at": datetime.now(UTC) + timedelta(seconds=settings.refresh_token_ttl),
            "user_agent": (user_agent or "")[:300] or None,
            "ip_address": ip_address,
            "token_hash": hash_refresh_token(refresh),
        },
    )
    assert isinstance(session_id, uuid.UUID)  # noqa: S101 - INSERT ... RETURNING
    return IssuedTokens(_access(settings, user_id, session_id), refresh)


async def rotate_refresh_token(
    db: AsyncSession, settings: Settings, refresh_token: str
) -> tuple[int, IssuedTokens] | None:
    """Spend `refresh_token` and issue its successor; None when it is not usable.

    Presenting a token that was already spent or revoked ends its whole login session.
    """
    presented = hash_refresh_token(refresh_token)
    successor = new_refresh_token()
    row = (
        await db.execute(
            _ROTATE, {"token_hash": presented, "new_hash": hash_refresh_token(successor)}
        )
    ).first()
    if row is None:
        await db.execute(_REVOKE_FAMILY, {"token_hash": presented})
        return None
    session_id, user_id = row
    return user_id, IssuedTokens(_access(settings, user_id, session_id), successor)


async def revoke_session(db: AsyncSession, session_id: uuid.UUID) -> None:
    """End one login session and every token in it."""
    await db.execute(_REVOKE_SESSION, {"session_id": session_id})


async def revoke_user_sessions(db: AsyncSession, user_id: int) -> None:
    """End every login session of `user_id` and every token in them."""
    await db.execute(_REVOKE_USER, {"user_id": user_id})


async def session_of_refresh_token(db: AsyncSession, refresh_token: str) -> uuid.UUID | None:
    """The login session a refresh token belongs to, spent or not."""
    session_id = await db.scalar(
        _SESSION_OF_TOKEN, {"token_hash": hash_refresh_token(refresh_token)}
    )
    return session_id if isinstance(session_id, uuid.UUID) else None


class Row(Protocol):
    """A result row read by column name, as the driver returns it."""

    def __getitem__(self, key: str, /) -> Any: ...


def viewer_parameters(claims: AccessClaims) -> tuple[uuid.UUID, int]:
    """The values of `VIEWER_SQL` for these access-token claims."""
    return (claims.session_id, claims.user_id)


def viewer_of(row: Row | None, claims: AccessClaims) -> Viewer | None:
    """The viewer a `VIEWER_SQL` row describes; None when the session is not live."""
    if row is None:
        return None
    return Viewer(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        session_id=claims.session_id,
    )


_PRUNE = text("DELETE FROM login_sessions WHERE expires_at < now()")


async def prune_expired_sessions(db: AsyncSession) -> int:
    """Delete login sessions past their lifetime (their refresh tokens go with them).

    Revoked sessions are kept until they expire, so a stolen token presented later is still
    recognised as spent.
    """
    result = await db.execute(_PRUNE)
    return int(result.rowcount)  # type: ignore[attr-defined]
