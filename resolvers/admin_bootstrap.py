"""Creating the first administrator from the command line."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import Passwords
from auth.sessions import revoke_user_sessions
from db.models import User
from resolvers.accounts import email_problems, name_problems, normalize_email, password_problems
from resolvers.errors import BusinessError


async def create_or_promote_admin(
    session: AsyncSession, passwords: Passwords, *, email: str, name: str, password: str | None
) -> tuple[User, bool]:
    """Make `email` an administrator; returns the user and whether it was created.

    An existing account keeps its password and name and is promoted; a new one needs a
    valid `password`.
    """
    email = normalize_email(email)
    problems = email_problems(email)
    if problems:
        raise BusinessError(problems)
    existing = await session.scalar(
        select(User).where(func.lower(User.email) == email.lower()).with_for_update()
    )
    if existing is not None:
        await session.execute(
            update(User).where(User.id == existing.id).values(role="ADMIN", updated_at=func.now())
        )
        await revoke_user_sessions(session, existing.id)  # the new role applies at once
        await session.refresh(existing)
        return existing, False
    problems = name_problems(name)
    problems += password_problems(password or "", email=email, name=name)
    if problems:
        raise BusinessError(problems)
    assert password is not None  # noqa: S101 - guaranteed by password_problems
    user = User(
        email=email, name=name.strip(), role="ADMIN", password_hash=await passwords.hash(password)
    )
    session.add(user)
    await session.flush()
    return user, True
