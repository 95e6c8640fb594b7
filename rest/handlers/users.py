"""`/api/users`."""

from __future__ import annotations

from starlette.responses import Response

from auth.viewer import Role
from resolvers import users
from resolvers.errors import BusinessError
from resolvers.ids import from_global_id
from resolvers.pagination import PageRequest
from rest.endpoint import Call
from rest.models import ListOut, SetRoleBody, UserOut
from rest.queries import UserListQuery
from rest.representation import user_out
from rest.responses import json_response


async def me(call: Call[None, None]) -> Response:
    async with call.app.reads() as db:
        (row,) = await users.users_by_ids(db, [call.signed_in().id])
    if row is None:
        raise BusinessError.one("NOT_FOUND", "No such user.")
    return json_response(user_out(row, call.viewer))


async def list_users(call: Call[None, UserListQuery]) -> Response:
    query = call.query
    async with call.app.reads() as db:
        page = await users.list_users(
            db,
            viewer=call.viewer,
            page=PageRequest(first=query.limit, after=query.cursor),
            search=query.search,
            role=Role(query.role) if query.role else None,
        )
    items = [user_out(row, call.viewer) for row in page.rows]
    return json_response(ListOut[UserOut](items=items, next_cursor=page.next_cursor))


async def set_role(call: Call[SetRoleBody, None]) -> Response:
    user_id = from_global_id(call.request.path_params["id"], "User")
    async with call.app.sessions.begin() as db:
        row = await users.set_user_role(
            db, viewer=call.viewer, user_id=user_id, role=Role(call.body.role)
        )
    return json_response(user_out(row, call.viewer))
