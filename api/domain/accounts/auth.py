"""Sessions (a JWT in an HttpOnly, SameSite cookie, via Litestar's JWTCookieAuth), guards
and CSRF protection."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Response
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTCookieAuth, Token

from api.config import Settings
from api.db import models as m
from api.errors import Forbidden

SESSION_COOKIE = "echoes_session"
CSRF_COOKIE = "echoes_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_LIFETIME = timedelta(days=14)
PUBLIC = {"exclude_from_auth": True}


class CurrentUser(msgspec.Struct, frozen=True):
    id: uuid.UUID
    email: str
    display_name: str
    role: m.UserRole

    @property
    def is_admin(self) -> bool:
        return self.role == m.UserRole.ADMIN


class SessionIssuer:
    """Issues session cookies; a thin, injectable wrapper around the JWT cookie auth."""

    def __init__(self, auth: JWTCookieAuth[CurrentUser, Token]) -> None:
        self._auth = auth

    def login(self, user_id: uuid.UUID, body: Any, *, status_code: int = 200) -> Response[Any]:
        return self._auth.login(
            identifier=str(user_id), response_body=body, response_status_code=status_code
        )


def build_auth(settings: Settings, db: SQLAlchemyAsyncConfig) -> JWTCookieAuth[CurrentUser, Token]:
    async def retrieve_user(token: Token, connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
        try:
            user_id = uuid.UUID(token.sub)
        except ValueError:
            return None
        async with db.get_session() as session:
            user = await session.get(m.User, user_id)
        if user is None:
            return None
        return CurrentUser(id=user.id, email=user.email, display_name=user.display_name, role=user.role)

    return JWTCookieAuth[CurrentUser, Token](
        retrieve_user_handler=retrieve_user,
        token_secret=settings.secret_key,
        key=SESSION_COOKIE,
        default_token_expiration=SESSION_LIFETIME,
        samesite="lax",
        secure=settings.is_production,
        exclude=["^/api/schema", "^/media/"],
        exclude_opt_key="exclude_from_auth",
        openapi_security_scheme_name="SessionCookie",
    )


def build_csrf(settings: Settings) -> CSRFConfig:
    """Double-submit CSRF for unsafe methods. Stripe webhooks carry their own signature; the
    anonymous free try must work as a plain no-JavaScript form post and relies on SameSite
    cookies and its rate limits instead."""
    return CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.is_production,
        cookie_samesite="lax",
        exclude=["^/api/webhooks/", "^/api/try"],
    )


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = connection.user
    if not isinstance(user, CurrentUser) or not user.is_admin:
        raise Forbidden("This page is for Echoes administrators.")
