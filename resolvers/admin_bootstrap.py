"""Administrators from the command line: creating a new one, promoting an existing account.

Creating never touches an existing account: an address someone registered first (perhaps
a look-alike that compares equal to the intended one) must not become an admin, with the
registrant's password, through `create-admin`. Promoting is a separate, deliberate step
that first shows who the account belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import Passwords
from auth.sessions import revoke_user_sessions
from db.models import LoginSession, User
from domain.codes import ErrorCode
from domain.errors import BusinessError, Problem
from resolvers.accounts import (
    email_key,
    email_problems,
    name_problems,
    normalize_email,
    password_problems,
)

RECENT_SIGN_INS = 10

_INSERT_ADMIN = text("""
    INSERT INTO users (email, email_key, name, role, password_hash)
    VALUES (:email, :email_key, :name, 'ADMIN', :password_hash)
    ON CONFLICT (email_key) DO NOTHING
    RETURNING id
""")


def _exists(email: str) -> BusinessError:
    return BusinessError(
        [
            Problem(
                ErrorCode.EMAIL_TAKEN,
                f"An account with the email {email!r} already exists; nothing was changed. "
                f"To make it an administrator, check whose it is and run "
                f"`server.py promote --email {email}`.",
                ("email",),
            )
        ]
    )


async def create_admin(
    session: AsyncSession, passwords: Passwords, *, email: str, name: str, password: str | None
) -> User:
    """Create a new ADMIN account; EMAIL_TAKEN, changing nothing, when the email exists.

    The address and password follow the rules of registration.
    """
    problems = email_problems(email) + name_problems(name)
    email = normalize_email(email)
    if problems:
        raise BusinessError(problems)
    if await session.scalar(select(User.id).where(User.email_key == email_key(email))):
        raise _exists(email)
    problems = await password_problems(password or "", email=email, name=name)
    if problems:
        raise BusinessError(problems)
    assert password is not None  # noqa: S101 - guaranteed by password_problems
    user_id = await session.scalar(
        _INSERT_ADMIN,
        {"email": email, "email_key": email_key(email), "name": name.strip(),
         "password_hash": await passwords.hash(password)},
    )  # fmt: skip
    if user_id is None:  # registered between the check and the insert
        raise _exists(email)
    user = await session.get(User, user_id)
    assert user is not None  # noqa: S101 - just inserted
    return user


@dataclass(frozen=True, slots=True)
class SignIn:
    """One login session, as shown before a promotion."""

    started_at: datetime
    address: str | None
    user_agent: str | None
    ended: bool


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """Who an account belongs to, enough for an operator to recognise it."""

    id: int
    email: str
    name: str
    role: str
    created_at: datetime
    sign_ins: list[SignIn]


async def find_account(session: AsyncSession, *, email: str) -> AccountSummary | None:
    """The account whose email compares equal to `email`, with its recent sign-ins
    (newest first, at most `RECENT_SIGN_INS`), or None."""
    user = await session.scalar(select(User).where(User.email_key == email_key(email)))
    if user is None:
        return None
    rows = await session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user.id)
        .order_by(LoginSession.created_at.desc())
        .limit(RECENT_SIGN_INS)
    )
    now = await session.scalar(select(func.now()))
    sign_ins = [
        SignIn(
            started_at=row.created_at,
            address=row.ip_address,
            user_agent=row.user_agent,
            ended=row.revoked_at is not None or (now is not None and row.expires_at <= now),
        )
        for row in rows
    ]
    return AccountSummary(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        created_at=user.created_at,
        sign_ins=sign_ins,
    )


async def promote_to_admin(session: AsyncSession, *, user_id: int, email: str) -> User:
    """Make the account `user_id` an ADMIN and end its sessions, so the role applies at once.

    `email` is the address the operator confirmed: if the account no longer has it
    (changed or deleted since it was shown), NOT_FOUND and nothing changes.
    """
    user: User | None = await session.scalar(
        update(User)
        .where(User.id == user_id, User.email_key == email_key(email))
        .values(role="ADMIN", updated_at=func.now())
        .returning(User)
    )
    if user is None:
        raise BusinessError.one(
            ErrorCode.NOT_FOUND, "The account changed; nothing was promoted.", None
        )
    await revoke_user_sessions(session, user_id)
    return user
