"""Limits on password guessing that a third party cannot turn into a lock-out.

Only failures count. They are counted per (e-mail, client network) and per client network,
never per e-mail alone: someone hammering a victim's address from their own network locks
only themselves out, and the victim still gets in from theirs. A successful log-in clears
that (e-mail, network) count; the per-network count is not cleared, so logging in to one's
own account between guesses does not reopen the window.
"""

from __future__ import annotations

import hashlib
import uuid

from api.config import Settings
from api.ratelimit import RateLimiter

WINDOW_SECONDS = 15 * 60
LOGIN_MESSAGE = "Too many failed log-in attempts. Please wait {wait} and try again."
PASSWORD_MESSAGE = "Too many wrong passwords. Please wait {wait} and try again."


def _email_digest(email: str) -> str:
    """Redis keys carry a digest, not the address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, limiter: RateLimiter, settings: Settings) -> None:
        self.limiter = limiter
        self.per_email_and_client = settings.login_limit_per_15min
        self.per_client = settings.login_ip_limit_per_15min

    async def ensure_allowed(self, email: str, client: str) -> None:
        """429 when this client, or this client for this e-mail, has failed too often."""
        await self.limiter.ensure_below(
            "login-fail-client", client, limit=self.per_client, message=LOGIN_MESSAGE
        )
        await self.limiter.ensure_below(
            "login-fail", f"{_email_digest(email)}:{client}", limit=self.per_email_and_client,
            message=LOGIN_MESSAGE,
        )

    async def failed(self, email: str, client: str) -> None:
        await self.limiter.hit(
            "login-fail-client", client, limit=self.per_client, window=WINDOW_SECONDS, message=LOGIN_MESSAGE
        )
        await self.limiter.hit(
            "login-fail", f"{_email_digest(email)}:{client}", limit=self.per_email_and_client,
            window=WINDOW_SECONDS, message=LOGIN_MESSAGE,
        )

    async def succeeded(self, email: str, client: str) -> None:
        await self.limiter.reset("login-fail", f"{_email_digest(email)}:{client}")

    async def ensure_password_attempts_allowed(self, user_id: uuid.UUID) -> None:
        """For routes that confirm the current password of a signed-in account."""
        await self.limiter.ensure_below(
            "password-fail", str(user_id), limit=self.per_email_and_client, message=PASSWORD_MESSAGE
        )

    async def password_failed(self, user_id: uuid.UUID) -> None:
        await self.limiter.hit(
            "password-fail", str(user_id), limit=self.per_email_and_client, window=WINDOW_SECONDS,
            message=PASSWORD_MESSAGE,
        )
