"""`@authenticated` and `@requiresRole(role:)`: permission checks that print in the SDL.

Each check is a Strawberry permission whose schema directive appears on the field in the
printed schema, applied through a fresh `PermissionExtension` per field:

    @strawberry.field(extensions=requires_role(Role.ADMIN))
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.schema_directive import Location
from strawberry.types import Info

from auth.viewer import Role, Viewer
from domain.errors import Forbidden, Unauthenticated

RoleEnum = strawberry.enum(Role, name="Role", description="What a user may do.")


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="authenticated",
    description="Only signed-in users may use this field.",
)
class AuthenticatedDirective:
    pass


@strawberry.schema_directive(
    locations=[Location.FIELD_DEFINITION],
    name="requiresRole",
    description="Only users with this role (or ADMIN) may use this field.",
)
class RequiresRoleDirective:
    role: RoleEnum  # type: ignore[valid-type]


def _viewer(info: Info[Any, Any]) -> Viewer | None:
    viewer: Viewer | None = info.context.viewer
    return viewer


class IsAuthenticated(BasePermission):
    message = "Sign in to do this."
    _schema_directive = AuthenticatedDirective()

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return _viewer(info) is not None

    def on_unauthorized(self) -> None:
        raise Unauthenticated(self.message or "")


class HasRole(BasePermission):
    def __init__(self, role: Role) -> None:
        self.role = role
        self.message = f"Only {role.value} users may do this."
        self._directive = RequiresRoleDirective(role=role)

    @property
    def schema_directive(self) -> object:
        return self._directive

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        viewer = _viewer(info)
        if viewer is None:
            raise Unauthenticated()
        return viewer.has_role(self.role)

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message or "")


def authenticated() -> list[FieldExtension]:
    """Field extensions for `@authenticated`."""
    return [PermissionExtension(permissions=[IsAuthenticated()])]


def requires_role(role: Role) -> list[FieldExtension]:
    """Field extensions for `@requiresRole(role: ...)`."""
    return [PermissionExtension(permissions=[HasRole(role)])]
