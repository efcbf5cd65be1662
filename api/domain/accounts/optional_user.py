"""The signed-in user on a public route, when there is one.

Public routes (``opt=PUBLIC``) skip the authentication middleware, so ``request.user`` is
unset there even for a signed-in browser. Some public routes answer differently for an
owner (a claimed free clip is its account's, on any device): they ask this resolver, which
runs the very same authentication as every other route and treats a missing or invalid
session (or one whose access token needs refreshing) as anonymous instead of answering 401.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware.authentication import AbstractAuthenticationMiddleware
from litestar.security.base import AbstractSecurityConfig

from api.domain.accounts.auth import CurrentUser
from api.domain.accounts.sessions import AccessTokenExpired

OptionalUser = Callable[[ASGIConnection[Any, Any, Any, Any]], Awaitable[CurrentUser | None]]


async def _unused_app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    raise RuntimeError("the optional-user resolver only authenticates, it serves nothing")


def build_optional_user(auth: AbstractSecurityConfig[Any, Any]) -> OptionalUser:
    middleware = auth.middleware(_unused_app)
    if not isinstance(middleware, AbstractAuthenticationMiddleware):
        raise TypeError(f"{type(middleware).__name__} is not an authentication middleware")

    async def optional_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
        try:
            result = await middleware.authenticate_request(connection)
        except (NotAuthorizedException, AccessTokenExpired):
            return None
        return result.user if isinstance(result.user, CurrentUser) else None

    return optional_user
