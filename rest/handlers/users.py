"""`/api/users`."""

from __future__ import annotations

from starlette.responses import Response

from auth.viewer import Role
from resolvers import users
from resolvers.ids import from_global_id
from rest.endpoint import Call
from rest.models import SetRoleBody
from rest.queries import UserListQuery
from rest.reads import USER, list_document, one_document, read_one, read_page
from rest.representation import user_out
from rest.responses import json_response

_ME = one_document("me", "", USER)
_PAGE = list_document(
    "users", "$first: Int, $after: String, $filter: UserFilter",
    "first: $first, after: $after, filter: $filter", USER,
)  # fmt: skip


async def me(call: Call[None, None]) -> Response:
    return await read_one(call, _ME, {}, "No such user.")


async def list_users(call: Call[None, UserListQuery]) -> Response:
    query = call.query
    variables = {
        "first": query.limit,
        "after": query.cursor,
        "filter": {"search": query.search, "role": query.role},
    }
    return await read_page(call, _PAGE, variables)


async def set_role(call: Call[SetRoleBody, None]) -> Response:
    user_id = from_global_id(call.request.path_params["id"], "User")
    async with call.app.sessions.begin() as db:
        row = await users.set_user_role(
            db=db, viewer=call.viewer, user_id=user_id, role=Role(call.body.role)
        )
    return json_response(user_out(row, call.viewer))
