"""Reading users and changing their roles."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth import sessions as store
from auth.viewer import Role, Viewer
from db.models import User
from domain.codes import ErrorCode
from domain.errors import BusinessError, Forbidden
from resolvers.accounts import email_key
from resolvers.pagination import Page, PageRequest, counting, fetch_page
from resolvers.text import search_pattern


def require_admin(viewer: Viewer | None) -> Viewer:
    """The viewer, if they are an admin; otherwise `Forbidden`."""
    if viewer is None or not viewer.is_admin:
        raise Forbidden()
    return viewer


def can_see_email(viewer: Viewer | None, user_id: int) -> bool:
    """Emails are shown to the user themself and to admins only."""
    return viewer is not None and (viewer.id == user_id or viewer.is_admin)


async def users_by_ids(ids: Sequence[int], *, db: AsyncSession) -> list[User | None]:
    """Users in the order of `ids` (None where there is no such user)."""
    rows = await db.scalars(select(User).where(User.id.in_(ids)))
    found = {user.id: user for user in rows}
    return [found.get(key) for key in ids]


def filtered_users(search: str | None, role: Role | None) -> Select[User]:
    """Users matching a search on email or name and a role, unordered."""
    query = select(User)
    pattern = search_pattern(search)
    if pattern is not None and search is not None:
        # emails match in the form they are compared in: `ＢＯＢ` finds bob@example.com
        key_pattern = search_pattern(email_key(search)) or pattern
        query = query.where(or_(User.email_key.ilike(key_pattern), User.name.ilike(pattern)))
    if role is not None:
        query = query.where(User.role == role.value)
    return query


async def list_users(
    *,
    db: AsyncSession,
    viewer: Viewer | None,
    page: PageRequest,
    search: str | None = None,
    role: Role | None = None,
) -> Page[User]:
    """Admin only: users newest first, filtered by a search on name or email and a role."""
    require_admin(viewer)
    return await fetch_page(
        filtered_users(search, role),
        db=db,
        sort_column=User.created_at,
        id_column=User.id,
        descending=True,
        page=page,
        timestamp=True,
    )


async def count_users(
    *, db: AsyncSession, viewer: Viewer | None, search: str | None = None, role: Role | None = None
) -> int:
    """Admin only: how many users `list_users` would list across all pages."""
    require_admin(viewer)
    query = counting(filtered_users(search, role))
    return int(await db.scalar(query) or 0)


async def set_user_role(
    *, db: AsyncSession, viewer: Viewer | None, user_id: int, role: Role
) -> User:
    """Admin only: change a user's role and end their sessions, so it applies at once."""
    admin = require_admin(viewer)
    if admin.id == user_id:
        raise BusinessError.one(
            ErrorCode.INVALID_INPUT, "You cannot change your own role; ask another admin.", ["id"]
        )
    user: User | None = await db.scalar(
        update(User)
        .where(User.id == user_id)
        .values(role=role.value, updated_at=func.now())
        .returning(User)
    )
    if user is None:
        raise BusinessError.one(ErrorCode.NOT_FOUND, "No such user.", ["id"])
    await store.revoke_user_sessions(db, user_id)
    return user
