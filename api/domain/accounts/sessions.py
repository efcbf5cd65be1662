"""Server-side sessions: a short-lived access token and a rotating refresh token per session.

Each signed-in browser is one ``user_sessions`` row. The access token (a JWT in the
HttpOnly ``echoes_session`` cookie) names the row and lives ``ACCESS_TOKEN_MINUTES``; every
request checks the row, so ending a session takes effect on the next request. The refresh
token (HttpOnly, sent only to ``POST /api/auth/refresh``) is replaced on every use; a refresh
token that was already replaced coming back means someone holds a copy, and ends the session
(the whole token family). Neither token ever appears outside a ``Set-Cookie`` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import sqlalchemy as sa
import structlog
from litestar import Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.config import Settings
from api.db import models as m
from api.domain.accounts.devices import MAX_DEVICE_LENGTH, client_network, describe_device
from api.errors import NotAuthenticated
from api.security.keys import Keys

log = structlog.get_logger()

ACCESS_COOKIE = "echoes_session"
REFRESH_COOKIE = "echoes_refresh"
REFRESH_PATH = "/api/auth/refresh"
JWT_ALGORITHM = "HS256"
#: Longer values are not ours: refuse them before parsing.
MAX_TOKEN_LENGTH = 2048
_NONCE_BYTES = 24


class AccessTokenExpired(NotAuthenticated):
    """The access token is genuine but old: ``POST /api/auth/refresh`` and try again."""

    code = "ACCESS_TOKEN_EXPIRED"
    title = "Session needs refreshing"


class RevokeReason:
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    ENDED_BY_USER = "ended_by_user"
    PASSWORD_CHANGED = "password_changed"
    REFRESH_REUSE = "refresh_reuse"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class IssuedTokens:
    """What a response sets as cookies. ``refresh_token`` is ``None`` when the browser already
    holds the current one (a second tab refreshing within the grace period)."""

    session_id: uuid.UUID
    access_token: str
    refresh_token: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(refresh_token: str) -> str:
    """What the database keeps of a refresh token (it carries 192 random bits, so a plain
    hash is enough)."""
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class SessionTokens:
    """Makes, reads and sets the two session cookies. One per application; no I/O."""

    def __init__(self, keys: Keys, settings: Settings) -> None:
        self._jwt_key = keys.session_jwt
        self._refresh_key = keys.refresh_token
        self.access_lifetime = timedelta(minutes=settings.access_token_minutes)
        self.session_lifetime = timedelta(days=settings.session_days)
        self.reuse_grace = timedelta(seconds=settings.refresh_reuse_grace_seconds)
        self.secure = settings.is_production

    def access_token(self, user_id: uuid.UUID, session_id: uuid.UUID, *, now: datetime | None = None) -> str:
        issued = now or _now()
        payload = {
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": int(issued.timestamp()),
            "exp": int((issued + self.access_lifetime).timestamp()),
        }
        return jwt.encode(payload, self._jwt_key, algorithm=JWT_ALGORITHM)

    def read_access_token(self, encoded: str | None) -> AccessClaims | None:
        """The claims of a genuine access token, expired or not; ``None`` for anything else."""
        if not encoded or len(encoded) > MAX_TOKEN_LENGTH or not encoded.isascii():
            return None
        try:
            payload = jwt.decode(
                encoded, self._jwt_key, algorithms=[JWT_ALGORITHM],
                options={"verify_exp": False, "require": ["sub", "sid", "exp"]},
            )
            exp = payload["exp"]
            if not isinstance(exp, int) or isinstance(exp, bool):
                return None
            return AccessClaims(
                user_id=uuid.UUID(str(payload["sub"])),
                session_id=uuid.UUID(str(payload["sid"])),
                expires_at=datetime.fromtimestamp(exp, tz=UTC),
            )
        except (jwt.InvalidTokenError, ValueError, TypeError, OverflowError, OSError):
            return None

    def _refresh_mac(self, body: str) -> str:
        return _b64(hmac.new(self._refresh_key, body.encode(), hashlib.sha256).digest())

    def refresh_token(self, session_id: uuid.UUID, generation: int) -> str:
        """``<session>.<generation>.<nonce>.<mac>``: the MAC tells a token we issued (whose
        reuse ends the session) from a forged one (which is only refused)."""
        body = f"{session_id.hex}.{generation}.{_b64(secrets.token_bytes(_NONCE_BYTES))}"
        return f"{body}.{self._refresh_mac(body)}"

    def read_refresh_token(self, raw: str | None) -> tuple[uuid.UUID, int] | None:
        """The session id and generation of a refresh token we issued, else ``None``."""
        if not raw or len(raw) > MAX_TOKEN_LENGTH or not raw.isascii():
            return None
        parts = raw.split(".")
        if len(parts) != 4 or not parts[1].isdigit() or len(parts[1]) > 9:
            return None
        try:
            session_id = uuid.UUID(hex=parts[0])
            mac = _unb64(parts[3])
        except ValueError:
            return None
        expected = hmac.new(self._refresh_key, ".".join(parts[:3]).encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, mac):
            return None
        return session_id, int(parts[1])

    def set_cookies(self, response: Response[Any], issued: IssuedTokens) -> None:
        max_age = int(self.session_lifetime.total_seconds())
        # The access cookie outlives its token so that log-out can still name the session.
        response.set_cookie(
            ACCESS_COOKIE, issued.access_token, path="/", max_age=max_age,
            httponly=True, samesite="lax", secure=self.secure,
        )
        if issued.refresh_token is not None:
            response.set_cookie(
                REFRESH_COOKIE, issued.refresh_token, path=REFRESH_PATH, max_age=max_age,
                httponly=True, samesite="strict", secure=self.secure,
            )

    def clear_cookies(self, response: Response[Any]) -> None:
        response.delete_cookie(ACCESS_COOKIE, path="/")
        response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)


class SessionService:
    """The session rows: start, refresh, list and end. Never commits; the caller does."""

    def __init__(self, db: AsyncSession, tokens: SessionTokens) -> None:
        self.db = db
        self.tokens = tokens

    async def start(self, user_id: uuid.UUID, *, user_agent: str | None, ip: str | None) -> IssuedTokens:
        now = _now()
        row = m.UserSession(
            user_id=user_id,
            device=describe_device(user_agent)[:MAX_DEVICE_LENGTH],
            ip_network=client_network(ip),
            last_seen_at=now,
            expires_at=now + self.tokens.session_lifetime,
            refresh_generation=0,
            refresh_token_hash="",
        )
        self.db.add(row)
        await self.db.flush()
        refresh = self.tokens.refresh_token(row.id, 0)
        row.refresh_token_hash = fingerprint(refresh)
        log.info("session_started", user_id=str(user_id), session_id=str(row.id))
        return IssuedTokens(row.id, self.tokens.access_token(user_id, row.id, now=now), refresh)

    async def refresh(self, raw_token: str | None) -> IssuedTokens | None:
        """New tokens for a current refresh token; ``None`` (refuse) for anything else.

        A genuine token that has already been replaced ends the session: either the person or
        a thief used the newer one, and we cannot tell which. The caller commits either way.
        """
        parsed = self.tokens.read_refresh_token(raw_token)
        if parsed is None or raw_token is None:
            return None
        session_id, generation = parsed
        row = await self.db.get(m.UserSession, session_id, with_for_update=True)
        now = _now()
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        presented = fingerprint(raw_token)
        if generation == row.refresh_generation and hmac.compare_digest(presented, row.refresh_token_hash):
            new_refresh = self.tokens.refresh_token(row.id, generation + 1)
            row.previous_refresh_token_hash = row.refresh_token_hash
            row.refresh_token_hash = fingerprint(new_refresh)
            row.refresh_generation = generation + 1
            row.refreshed_at = now
            row.last_seen_at = now
            row.expires_at = now + self.tokens.session_lifetime
            return IssuedTokens(row.id, self.tokens.access_token(row.user_id, row.id, now=now), new_refresh)
        if (
            generation == row.refresh_generation - 1
            and row.previous_refresh_token_hash is not None
            and hmac.compare_digest(presented, row.previous_refresh_token_hash)
            and row.refreshed_at is not None
            and now - row.refreshed_at <= self.tokens.reuse_grace
        ):
            row.last_seen_at = now
            return IssuedTokens(row.id, self.tokens.access_token(row.user_id, row.id, now=now), None)
        row.revoked_at = now
        row.revoked_reason = RevokeReason.REFRESH_REUSE
        log.warning(
            "refresh_token_reused", user_id=str(row.user_id), session_id=str(row.id),
            generation=generation, current_generation=row.refresh_generation,
        )
        return None

    async def authenticate(self, claims: AccessClaims) -> tuple[m.User, m.UserSession] | None:
        """The user and session an access token names, if the session is still active."""
        found = (
            await self.db.execute(
                sa.select(m.User, m.UserSession)
                .join(m.UserSession, m.UserSession.user_id == m.User.id)
                .where(
                    m.UserSession.id == claims.session_id,
                    m.User.id == claims.user_id,
                    m.UserSession.revoked_at.is_(None),
                    m.UserSession.expires_at > _now(),
                )
            )
        ).first()
        return (found[0], found[1]) if found else None

    async def list_active(self, user_id: uuid.UUID) -> list[m.UserSession]:
        return list(
            await self.db.scalars(
                sa.select(m.UserSession)
                .where(
                    m.UserSession.user_id == user_id,
                    m.UserSession.revoked_at.is_(None),
                    m.UserSession.expires_at > _now(),
                )
                .order_by(m.UserSession.last_seen_at.desc())
            )
        )

    async def end(self, user_id: uuid.UUID, session_id: uuid.UUID, *, reason: str) -> bool:
        """End one of the user's active sessions; ``False`` if there is no such session."""
        ended = await self.db.scalar(
            sa.update(m.UserSession)
            .where(
                m.UserSession.id == session_id,
                m.UserSession.user_id == user_id,
                m.UserSession.revoked_at.is_(None),
            )
            .values(revoked_at=_now(), revoked_reason=reason)
            .returning(m.UserSession.id)
        )
        if ended is not None:
            log.info("session_ended", user_id=str(user_id), session_id=str(session_id), reason=reason)
        return ended is not None


async def revoke_all_sessions(
    db: AsyncSession, user_id: uuid.UUID, except_session_id: uuid.UUID | None = None,
    *, reason: str = RevokeReason.LOGOUT_ALL,
) -> int:
    """End every active session of the user (all but ``except_session_id`` when given).

    For log-out-everywhere, password change and reset, and account deletion. Takes effect
    on each session's next request once the caller commits. Returns how many were ended.
    """
    query = (
        sa.update(m.UserSession)
        .where(m.UserSession.user_id == user_id, m.UserSession.revoked_at.is_(None))
        .values(revoked_at=_now(), revoked_reason=reason)
        .returning(m.UserSession.id)
    )
    if except_session_id is not None:
        query = query.where(m.UserSession.id != except_session_id)
    ended = list(await db.scalars(query))
    log.info("sessions_revoked", user_id=str(user_id), count=len(ended), reason=reason)
    return len(ended)
