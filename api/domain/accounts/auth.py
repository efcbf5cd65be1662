"""Authentication (the session cookie checked against its ``user_sessions`` row on every
request), guards and CSRF protection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import ASGIMiddleware
from litestar.middleware.authentication import AuthenticationResult
from litestar.security.jwt import JWTCookieAuth, JWTCookieAuthenticationMiddleware, Token
from litestar.types import ASGIApp, Receive, Scope, Send

from api.config import Settings
from api.db import models as m
from api.domain.accounts.sessions import (
    ACCESS_COOKIE,
    AccessTokenExpired,
    SessionService,
    SessionTokens,
)
from api.errors import Forbidden
from api.security.keys import Keys, as_text

SESSION_COOKIE = ACCESS_COOKIE
CSRF_COOKIE = "echoes_csrf"
CSRF_HEADER = "x-csrf-token"
PUBLIC = {"exclude_from_auth": True}


class CurrentUser(msgspec.Struct, frozen=True):
    id: uuid.UUID
    email: str
    display_name: str
    role: m.UserRole
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        return self.role == m.UserRole.ADMIN


class SessionCookieMiddleware(JWTCookieAuthenticationMiddleware):
    """Reads the session from its cookie only, never from an ``Authorization`` header; the
    ``retrieve_user_handler`` of :func:`build_auth` does the rest."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        result: AuthenticationResult = await self.retrieve_user_handler(
            connection.cookies.get(self.auth_cookie_key), connection  # type: ignore[arg-type]
        )
        return result


def build_auth(
    settings: Settings, keys: Keys, tokens: SessionTokens, db: SQLAlchemyAsyncConfig
) -> JWTCookieAuth[CurrentUser, Token]:
    async def authenticate(
        cookie: str | None, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """A genuine, unexpired access token whose session row is still active, or 401
        (``ACCESS_TOKEN_EXPIRED`` when refreshing would help)."""
        claims = tokens.read_access_token(cookie)
        if claims is None:
            raise NotAuthorizedException("No valid session cookie")
        if claims.expires_at <= datetime.now(UTC):
            raise AccessTokenExpired("Your session needs refreshing. Refresh it, then try again.")
        async with db.get_session() as session:
            found = await SessionService(session, tokens).authenticate(claims)
        if found is None:
            raise NotAuthorizedException("The session has ended")
        user, user_session = found
        current = CurrentUser(
            id=user.id, email=user.email, display_name=user.display_name, role=user.role,
            session_id=user_session.id,
        )
        return AuthenticationResult(user=current, auth=claims)

    return JWTCookieAuth[CurrentUser, Token](
        retrieve_user_handler=authenticate,  # type: ignore[arg-type]
        token_secret=as_text(keys.session_jwt),
        key=SESSION_COOKIE,
        samesite="lax",
        secure=settings.is_production,
        exclude=["^/api/schema", "^/media/"],
        exclude_opt_key="exclude_from_auth",
        openapi_security_scheme_name="SessionCookie",
        authentication_middleware_class=SessionCookieMiddleware,
    )


CSRF_EXCLUDE = ["^/api/webhooks/", "^/api/try"]
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


class CsrfTokenShapeMiddleware(ASGIMiddleware):
    """Refuses an unsafe request whose CSRF header or cookie is not plain ASCII with 403.

    Litestar's CSRF check compares the tokens with ``secrets.compare_digest``, which raises
    on non-ASCII text: without this guard such a token would answer 500. Runs outside the
    CSRF middleware (app-level middleware wraps it) and skips the same paths."""

    scopes = (ScopeType.HTTP,)
    exclude_path_pattern = tuple(CSRF_EXCLUDE)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method", "GET") not in _SAFE_METHODS:
            connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
            values = (connection.headers.get(CSRF_HEADER), connection.cookies.get(CSRF_COOKIE))
            if any(value is not None and not value.isascii() for value in values):
                raise PermissionDeniedException("CSRF token verification failed")
        await next_app(scope, receive, send)


def build_csrf(settings: Settings, keys: Keys) -> CSRFConfig:
    """Double-submit CSRF for unsafe methods. Stripe webhooks carry their own signature; the
    anonymous free try must work as a plain no-JavaScript form post and relies on SameSite
    cookies and its rate limits instead."""
    return CSRFConfig(
        secret=as_text(keys.csrf),
        cookie_name=CSRF_COOKIE,
        header_name=CSRF_HEADER,
        cookie_secure=settings.is_production,
        cookie_samesite="lax",
        exclude=CSRF_EXCLUDE,
    )


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    # Not `connection.user`: it raises (a 500) where the authentication middleware did not
    # run, as on the OPTIONS answers Litestar adds to every path.
    user = connection.scope.get("user")
    if not isinstance(user, CurrentUser) or not user.is_admin:
        raise Forbidden("This page is for Echoes administrators.")
