"""Account mutations and `me`: thin fields over `resolvers.auth`."""

from __future__ import annotations

from collections.abc import Awaitable

import strawberry
from strawberry.types import Info

from domain.errors import BusinessError
from resolvers import auth
from schema.context import Context
from schema.errors import UserError, user_errors
from schema.permissions import authenticated
from schema.users import User
from web.cookies import clear_session_cookies, read_refresh_cookie, set_session_cookies


@strawberry.input
class RegisterInput:
    email: str
    password: str
    name: str


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type
class AuthPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.type
class LogoutPayload:
    ok: bool


async def _signed_in(ctx: Context, action: Awaitable[auth.SignedIn]) -> AuthPayload:
    try:
        signed_in = await action
    except BusinessError as error:
        return AuthPayload(user=None, user_errors=user_errors(error))
    set_session_cookies(ctx.response, ctx.app.settings, signed_in.tokens)
    return AuthPayload(user=User.from_row(signed_in.user, show_email=True), user_errors=[])


@strawberry.type
class AuthQueries:
    @strawberry.field(description="The signed-in user, or null when anonymous.")
    def me(self, info: Info[Context, None]) -> User | None:
        viewer = info.context.viewer
        return User.from_row(viewer, show_email=True) if viewer else None


@strawberry.type
class AuthMutations:
    @strawberry.mutation(description="Create an account and sign in (sets the session cookies).")
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthPayload:
        ctx = info.context
        return await _signed_in(
            ctx,
            auth.register(
                ctx.app, email=input.email, password=input.password, name=input.name,
                client=ctx.client,
            ),
        )  # fmt: skip

    @strawberry.mutation(description="Sign in (sets the session cookies).")
    async def login(self, info: Info[Context, None], input: LoginInput) -> AuthPayload:
        ctx = info.context
        return await _signed_in(
            ctx, auth.login(ctx.app, email=input.email, password=input.password, client=ctx.client)
        )

    @strawberry.mutation(description="Rotate the session cookies.")
    async def refresh_session(self, info: Info[Context, None]) -> AuthPayload:
        ctx = info.context
        refresh = read_refresh_cookie(ctx.request, ctx.app.settings)
        return await _signed_in(ctx, auth.refresh_session(ctx.app, refresh_token=refresh))

    @strawberry.mutation(description="End this session and clear the cookies.")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        ctx = info.context
        refresh = read_refresh_cookie(ctx.request, ctx.app.settings)
        await auth.logout(ctx.app, viewer=ctx.viewer, refresh_token=refresh)
        clear_session_cookies(ctx.response, ctx.app.settings)
        return LogoutPayload(ok=True)

    @strawberry.mutation(extensions=authenticated(), description="End every session of yours.")
    async def logout_all(self, info: Info[Context, None]) -> LogoutPayload:
        ctx = info.context
        assert ctx.viewer is not None  # noqa: S101 - @authenticated
        await auth.logout_all(ctx.app, viewer=ctx.viewer)
        clear_session_cookies(ctx.response, ctx.app.settings)
        return LogoutPayload(ok=True)

    @strawberry.mutation(
        extensions=authenticated(),
        description="Change your password; every other session ends.",
    )
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> AuthPayload:
        ctx = info.context
        assert ctx.viewer is not None  # noqa: S101 - @authenticated
        return await _signed_in(
            ctx,
            auth.change_password(
                ctx.app, viewer=ctx.viewer, current_password=input.current_password,
                new_password=input.new_password, client=ctx.client,
            ),
        )  # fmt: skip
