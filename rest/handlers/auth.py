"""`/api/auth/*` and `/api/users/me`."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from resolvers import auth
from rest.endpoint import Call
from rest.models import AuthOut, ChangePasswordBody, LoginBody, RegisterBody
from rest.representation import user_out
from rest.responses import json_response, no_content
from web.client import client_info
from web.cookies import clear_session_cookies, read_refresh_cookie, set_session_cookies


def _signed_in(call: Call[Any, Any], signed_in: auth.SignedIn, status: int = 200) -> Response:
    response = json_response(AuthOut(user=user_out(signed_in.user, None, show_email=True)), status)
    set_session_cookies(response, call.app.settings, signed_in.tokens)
    return response


async def register(call: Call[RegisterBody, None]) -> Response:
    body = call.body
    signed_in = await auth.register(
        call.app, email=body.email, password=body.password, name=body.name,
        client=client_info(call.request),
    )  # fmt: skip
    return _signed_in(call, signed_in, 201)


async def login(call: Call[LoginBody, None]) -> Response:
    signed_in = await auth.login(
        call.app, email=call.body.email, password=call.body.password,
        client=client_info(call.request),
    )  # fmt: skip
    return _signed_in(call, signed_in)


async def refresh(call: Call[None, None]) -> Response:
    token = read_refresh_cookie(call.request, call.app.settings)
    return _signed_in(call, await auth.refresh_session(call.app, refresh_token=token))


async def logout(call: Call[None, None]) -> Response:
    token = read_refresh_cookie(call.request, call.app.settings)
    await auth.logout(call.app, viewer=call.viewer, refresh_token=token)
    response = no_content()
    clear_session_cookies(response, call.app.settings)
    return response


async def logout_all(call: Call[None, None]) -> Response:
    await auth.logout_all(call.app, viewer=call.signed_in())
    response = no_content()
    clear_session_cookies(response, call.app.settings)
    return response


async def change_password(call: Call[ChangePasswordBody, None]) -> Response:
    signed_in = await auth.change_password(
        call.app, viewer=call.signed_in(), current_password=call.body.current_password,
        new_password=call.body.new_password, client=client_info(call.request),
    )  # fmt: skip
    response = no_content()
    set_session_cookies(response, call.app.settings, signed_in.tokens)
    return response
