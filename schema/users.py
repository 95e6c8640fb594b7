"""The `User` type, the `users` list and `setUserRole`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from auth.viewer import Role, Viewer
from db.models import User as UserRow
from resolvers import users
from resolvers.ids import from_global_id, to_global_id
from resolvers.pagination import PageRequest
from schema.compiled.fields import compiled_from, sql, user_orders, visible_email
from schema.connection import Connection, counter, to_connection
from schema.context import Context
from schema.errors import UserError, in_transaction
from schema.node import Node
from schema.permissions import RoleEnum, requires_role

if TYPE_CHECKING:
    from schema.orders import Order, OrderFilter, OrderSort


@compiled_from(UserRow)
@strawberry.type
class User(Node):
    key: strawberry.Private[int]
    private_email: strawberry.Private[str]
    show_email: strawberry.Private[bool]
    name: str
    role: RoleEnum  # type: ignore[valid-type]
    created_at: datetime

    @strawberry.field(
        description="Null unless the viewer is this user or an admin.",
        metadata=sql(visible_email),
    )
    def email(self, info: Info[Context, None]) -> str | None:
        if self.show_email or users.can_see_email(info.context.viewer, self.key):
            return self.private_email
        return None

    @strawberry.field(
        description="This user's orders; empty unless you are this user or an admin.",
        metadata=sql(user_orders),
    )
    async def orders(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: Annotated[OrderFilter, strawberry.lazy("schema.orders")] | None = None,
        sort: Annotated[OrderSort, strawberry.lazy("schema.orders")] | None = None,
    ) -> Connection[Annotated[Order, strawberry.lazy("schema.orders")]]:
        from schema.orders import order_connection, order_query

        query = order_query(filter, sort, customer_id=self.key)
        return await order_connection(info, query, PageRequest(first=first, after=after))

    @classmethod
    def from_row(cls, row: UserRow | Viewer, *, show_email: bool = False) -> User:
        """From a users row, or from the viewer (the same fields, loaded with the session)."""
        return cls(
            id=strawberry.ID(to_global_id("User", row.id)),
            key=row.id,
            private_email=row.email,
            show_email=show_email,
            name=row.name,
            role=Role(row.role),
            created_at=row.created_at,
        )


@strawberry.input
class UserFilter:
    search: str | None = None
    role: RoleEnum | None = None  # type: ignore[valid-type]


@strawberry.type
class UserPayload:
    user: User | None
    user_errors: list[UserError]


def _filter_args(filter: UserFilter | None) -> dict[str, Any]:
    return {"search": filter.search if filter else None, "role": filter.role if filter else None}


@strawberry.type
class UserQueries:
    @strawberry.field(extensions=requires_role(Role.ADMIN))
    async def users(
        self,
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
        filter: UserFilter | None = None,
    ) -> Connection[User]:
        ctx = info.context
        args = _filter_args(filter)
        async with ctx.app.reads() as db:
            page = await users.list_users(
                db=db, viewer=ctx.viewer, page=PageRequest(first=first, after=after), **args
            )
        count = counter(
            ctx.app.reads, lambda db: users.count_users(db=db, viewer=ctx.viewer, **args)
        )
        return to_connection(page, User.from_row, count)


@strawberry.type
class UserMutations:
    @strawberry.mutation(extensions=requires_role(Role.ADMIN))
    async def set_user_role(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        role: RoleEnum,  # type: ignore[valid-type]
    ) -> UserPayload:
        ctx = info.context
        user_id = from_global_id(id, "User")
        row, errors = await in_transaction(
            ctx.app.sessions,
            lambda db: users.set_user_role(db=db, viewer=ctx.viewer, user_id=user_id, role=role),
        )
        return UserPayload(user=User.from_row(row) if row is not None else None, user_errors=errors)
