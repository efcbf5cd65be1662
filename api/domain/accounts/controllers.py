"""Sign up, log in, refresh, log out (here or everywhere), signed-in sessions, password
change, ``GET /api/me`` and the CSRF token.

Each handler is one unit of work: it commits once, and sets cookies only on the answer to
a committed change. Session tokens travel only in ``Set-Cookie``.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.security.jwt import Token
from litestar.utils.scope.state import ScopeState
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db.transaction import commit
from api.domain.accounts.auth import CSRF_COOKIE, CSRF_HEADER, PUBLIC, CurrentUser
from api.domain.accounts.schemas import (
    CsrfToken,
    LoginRequest,
    Me,
    PasswordChange,
    SignedInSession,
    SignedInSessionList,
    SignupRequest,
    SignupResult,
)
from api.domain.accounts.services import AccountService, InvalidCredentials, WrongPassword, to_me
from api.domain.accounts.sessions import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    RevokeReason,
    SessionService,
    SessionTokens,
    revoke_all_sessions,
)
from api.domain.accounts.throttle import LoginThrottle
from api.domain.privacy.deletion import AccountDeletion
from api.domain.privacy.schemas import DeleteAccountRequest
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.errors import NotAuthenticated, NotFound
from api.jobs import Queues
from api.ratelimit import RateLimiter, client_subject
from api.storage import Storage

AnyRequest = Request[Any, Any, Any]
UserRequest = Request[CurrentUser, Token, Any]


def _client_ip(request: AnyRequest) -> str | None:
    return request.client.host if request.client else None


class AccountController(Controller):
    path = "/api"
    tags = ["accounts"]

    @post("/auth/signup", operation_id="SignUp", summary="Create an account", opt=PUBLIC, status_code=201)
    async def sign_up(
        self,
        request: AnyRequest,
        data: JSONBody[SignupRequest],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        identity: NamedDependency[VisitorIdentity],
        limiter: NamedDependency[RateLimiter],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[SignupResult]:
        """Creates the account, grants the 1-credit sign-up bonus, links the referrer from
        ``referralCode`` and claims the visitor's free-try clip. Logs the new user in."""
        await limiter.hit(
            "signup", client_subject(request, identity),
            limit=settings.signup_limit_per_hour, window=3600,
            message="Too many sign-ups from this network. Please try again in {wait}.",
        )
        user, claimed, referred = await AccountService(db_session).signup(
            email=data.email, password=data.password, display_name=data.display_name,
            referral_code=data.referral_code,
            visitor_id=identity.parse(request.cookies.get(VISITOR_COOKIE)),
        )
        issued = await SessionService(db_session, session_tokens).start(
            user.id, user_agent=request.headers.get("user-agent"), ip=_client_ip(request)
        )
        await commit(db_session)
        body = SignupResult(user=to_me(user), claimed_clip_ids=claimed, referral_applied=referred)
        response = Response(body, status_code=201)
        session_tokens.set_cookies(response, issued)
        return response

    @post("/auth/login", operation_id="LogIn", summary="Log in", opt=PUBLIC, status_code=200)
    async def log_in(
        self,
        request: AnyRequest,
        data: JSONBody[LoginRequest],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        identity: NamedDependency[VisitorIdentity],
        limiter: NamedDependency[RateLimiter],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[Me]:
        """Wrong email and wrong password get the same answer, so neither can be probed.

        Only failed attempts count towards the limits, per (e-mail, client network) and per
        client network; a successful log-in clears the first."""
        client = client_subject(request, identity)
        throttle = LoginThrottle(limiter, settings)
        await throttle.ensure_allowed(data.email, client)
        service = AccountService(db_session)
        try:
            user = await service.login(email=data.email, password=data.password)
        except InvalidCredentials:
            await throttle.failed(data.email, client)
            raise
        await service.claim_free_tries(user.id, identity.parse(request.cookies.get(VISITOR_COOKIE)))
        issued = await SessionService(db_session, session_tokens).start(
            user.id, user_agent=request.headers.get("user-agent"), ip=_client_ip(request)
        )
        await commit(db_session)
        await throttle.succeeded(data.email, client)
        response = Response(to_me(user))
        session_tokens.set_cookies(response, issued)
        return response

    @post(
        "/auth/refresh", operation_id="RefreshSession", summary="Renew the session cookies",
        opt=PUBLIC, status_code=204,
    )
    async def refresh_session(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[None]:
        """Call when an answer says ``ACCESS_TOKEN_EXPIRED``, then retry. Uses the refresh
        cookie (sent only to this path) and replaces both cookies. 401 means log in again; a
        refresh cookie that was already used ends its session."""
        issued = await SessionService(db_session, session_tokens).refresh(request.cookies.get(REFRESH_COOKIE))
        await commit(db_session)
        if issued is None:
            raise NotAuthenticated("Your session has ended. Please log in again.")
        response: Response[None] = Response(content=None, status_code=204)
        session_tokens.set_cookies(response, issued)
        return response

    @post("/auth/logout", operation_id="LogOut", summary="Log out", opt=PUBLIC, status_code=204)
    async def log_out(
        self,
        request: AnyRequest,
        db_session: NamedDependency[AsyncSession],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[None]:
        """Ends this browser's session on the server (even when its access token has
        expired) and clears the cookies."""
        claims = session_tokens.read_access_token(request.cookies.get(ACCESS_COOKIE))
        if claims is not None:
            await SessionService(db_session, session_tokens).end(
                claims.user_id, claims.session_id, reason=RevokeReason.LOGOUT
            )
            await commit(db_session)
        response: Response[None] = Response(content=None, status_code=204)
        session_tokens.clear_cookies(response)
        return response

    @post("/auth/logout-all", operation_id="LogOutEverywhere", summary="Log out everywhere", status_code=204)
    async def log_out_everywhere(
        self,
        request: UserRequest,
        db_session: NamedDependency[AsyncSession],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[None]:
        """Ends every session of the account, this one included."""
        await revoke_all_sessions(db_session, request.user.id, reason=RevokeReason.LOGOUT_ALL)
        await commit(db_session)
        response: Response[None] = Response(content=None, status_code=204)
        session_tokens.clear_cookies(response)
        return response

    @get("/auth/sessions", operation_id="ListSessions", summary="Browsers signed in to the account", cache=False)
    async def list_sessions(
        self,
        request: UserRequest,
        db_session: NamedDependency[AsyncSession],
        session_tokens: NamedDependency[SessionTokens],
    ) -> SignedInSessionList:
        """Active sessions, most recently seen first; ``current`` marks this browser.
        ``lastSeenAt`` is updated when the session is refreshed (every few minutes of use)."""
        rows = await SessionService(db_session, session_tokens).list_active(request.user.id)
        return SignedInSessionList(
            items=[
                SignedInSession(
                    id=row.id, device=row.device, network=row.ip_network, created_at=row.created_at,
                    last_seen_at=row.last_seen_at, current=row.id == request.user.session_id,
                )
                for row in rows
            ]
        )

    @delete("/auth/sessions/{session_id:uuid}", operation_id="EndSession", summary="End one session", status_code=204)
    async def end_session(
        self,
        session_id: FromPath[uuid.UUID],
        request: UserRequest,
        db_session: NamedDependency[AsyncSession],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[None]:
        """Another account's session, or one already ended, answers 404."""
        ended = await SessionService(db_session, session_tokens).end(
            request.user.id, session_id, reason=RevokeReason.ENDED_BY_USER
        )
        if not ended:
            raise NotFound("There is no such signed-in session.")
        await commit(db_session)
        response: Response[None] = Response(content=None, status_code=204)
        if session_id == request.user.session_id:
            session_tokens.clear_cookies(response)
        return response

    @post("/me/password", operation_id="ChangePassword", summary="Change the password", status_code=204)
    async def change_password(
        self,
        request: UserRequest,
        data: JSONBody[PasswordChange],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        limiter: NamedDependency[RateLimiter],
    ) -> None:
        """Needs the current password. Every other session of the account ends; this one
        stays signed in."""
        throttle = LoginThrottle(limiter, settings)
        await throttle.ensure_password_attempts_allowed(request.user.id)
        try:
            await AccountService(db_session).change_password(
                request.user.id, current_password=data.current_password, new_password=data.new_password
            )
        except WrongPassword:
            await throttle.password_failed(request.user.id)
            raise
        await revoke_all_sessions(
            db_session, request.user.id, except_session_id=request.user.session_id,
            reason=RevokeReason.PASSWORD_CHANGED,
        )
        await commit(db_session)

    @get("/auth/csrf", operation_id="GetCsrfToken", summary="The CSRF token", opt=PUBLIC, cache=False)
    async def get_csrf_token(self, request: AnyRequest) -> CsrfToken:
        """Send the token back in the ``x-csrf-token`` header on every unsafe request.

        The CSRF middleware sets the cookie on this (safe) request when it is missing; the
        same value is returned here for clients that cannot read cookies."""
        token = request.cookies.get(CSRF_COOKIE) or ScopeState.from_scope(request.scope).csrf_token
        return CsrfToken(token=str(token or ""), header_name=CSRF_HEADER)

    @delete("/me", operation_id="DeleteAccount", summary="Delete the account and everything in it", status_code=204)
    async def delete_account(
        self,
        request: UserRequest,
        data: JSONBody[DeleteAccountRequest],
        db_session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        limiter: NamedDependency[RateLimiter],
        storage: NamedDependency[Storage],
        queues: NamedDependency[Queues],
        session_tokens: NamedDependency[SessionTokens],
    ) -> Response[None]:
        """Confirmed with the account's password (422 ``WRONG_PASSWORD`` otherwise, and nothing
        is deleted). Photos, clips, videos, music, push subscriptions and sessions are deleted;
        credit history and purchases are kept for accounting with nothing left that names the
        person (see :mod:`api.domain.privacy.deletion`). Logs the browser out."""
        throttle = LoginThrottle(limiter, settings)
        await throttle.ensure_password_attempts_allowed(request.user.id)
        try:
            await AccountDeletion(db_session, storage=storage, queues=queues).delete(request.user.id, data.password)
        except WrongPassword:
            await throttle.password_failed(request.user.id)
            raise
        await commit(db_session)
        response: Response[None] = Response(content=None, status_code=204)
        session_tokens.clear_cookies(response)
        return response

    @get("/me", operation_id="GetMe", summary="The signed-in user", cache=False)
    async def get_me(self, request: UserRequest, db_session: NamedDependency[AsyncSession]) -> Me:
        return to_me(await AccountService(db_session).get(request.user.id))
