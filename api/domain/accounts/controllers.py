"""Sign up, log in, log out, ``GET /api/me`` and the CSRF token."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.security.jwt import Token
from litestar.utils.scope.state import ScopeState
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.domain.accounts.auth import (
    CSRF_COOKIE,
    CSRF_HEADER,
    PUBLIC,
    SESSION_COOKIE,
    CurrentUser,
    SessionIssuer,
)
from api.domain.accounts.schemas import CsrfToken, LoginRequest, Me, SignupRequest, SignupResult
from api.domain.accounts.services import AccountService, to_me
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.ratelimit import RateLimiter


class AccountController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/signup", operation_id="SignUp", summary="Create an account", opt=PUBLIC, status_code=201)
    async def sign_up(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SignupRequest],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        identity: NamedDependency[VisitorIdentity],
        limiter: NamedDependency[RateLimiter],
        sessions: NamedDependency[SessionIssuer],
    ) -> Response[SignupResult]:
        """Creates the account, grants the 1-credit sign-up bonus, links the referrer from
        ``referralCode`` and claims the visitor's free-try clip. Logs the new user in."""
        await limiter.hit(
            "signup", identity.hash_ip(request.client.host if request.client else None) or "-",
            limit=settings.signup_limit_per_hour, window=3600,
            message="Too many sign-ups from this network. Please try again in {wait}.",
        )
        user, claimed, referred = await AccountService(db_session).signup(
            email=data.email, password=data.password, display_name=data.display_name,
            referral_code=data.referral_code,
            visitor_id=identity.parse(request.cookies.get(VISITOR_COOKIE)),
        )
        await db_session.commit()
        body = SignupResult(user=to_me(user), claimed_clip_ids=claimed, referral_applied=referred)
        return sessions.login(user.id, body, status_code=201)

    @post("/auth/login", operation_id="LogIn", summary="Log in", opt=PUBLIC, status_code=200)
    async def log_in(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginRequest],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        identity: NamedDependency[VisitorIdentity],
        limiter: NamedDependency[RateLimiter],
        sessions: NamedDependency[SessionIssuer],
    ) -> Response[Me]:
        """Wrong email and wrong password get the same answer, so neither can be probed."""
        ip = identity.hash_ip(request.client.host if request.client else None) or "-"
        message = "Too many log-in attempts. Please wait {wait} and try again."
        await limiter.hit("login-ip", ip, limit=settings.login_limit_per_15min * 3, window=900, message=message)
        await limiter.hit(
            "login-email", data.email.strip().lower(), limit=settings.login_limit_per_15min,
            window=900, message=message,
        )
        service = AccountService(db_session)
        user = await service.login(email=data.email, password=data.password)
        await service.claim_free_tries(user.id, identity.parse(request.cookies.get(VISITOR_COOKIE)))
        await db_session.commit()
        return sessions.login(user.id, to_me(user))

    @post("/auth/logout", operation_id="LogOut", summary="Log out", opt=PUBLIC, status_code=204)
    async def log_out(self) -> Response[None]:
        response: Response[None] = Response(content=None, status_code=204)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/auth/csrf", operation_id="GetCsrfToken", summary="The CSRF token", opt=PUBLIC, cache=False)
    async def get_csrf_token(self, request: Request[Any, Any, Any]) -> CsrfToken:
        """Send the token back in the ``x-csrf-token`` header on every unsafe request.

        The CSRF middleware sets the cookie on this (safe) request when it is missing; the
        same value is returned here for clients that cannot read cookies."""
        token = request.cookies.get(CSRF_COOKIE) or ScopeState.from_scope(request.scope).csrf_token
        return CsrfToken(token=str(token or ""), header_name=CSRF_HEADER)

    @get("/me", operation_id="GetMe", summary="The signed-in user", cache=False)
    async def get_me(
        self, request: Request[CurrentUser, Token, Any], db_session: NamedDependency[AsyncSession]
    ) -> Me:
        return to_me(await AccountService(db_session).get(request.user.id))
