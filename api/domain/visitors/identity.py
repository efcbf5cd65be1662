"""Anonymous visitors: a signed cookie that names a browser before it has an account.

The free try is scoped to the visitor; the cookie is HMAC-signed so a visitor id cannot be
guessed or forged to read someone else's clip. Client IPs are only ever stored as keyed
hashes (enough to rate-limit, not enough to recover the address).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from litestar.datastructures import Cookie

VISITOR_COOKIE = "echoes_visitor"
VISITOR_MAX_AGE = 365 * 24 * 3600


class VisitorIdentity:
    def __init__(self, secret: str, *, secure_cookie: bool) -> None:
        self._key = hashlib.sha256(b"echoes-visitor\x00" + secret.encode()).digest()
        self._ip_key = hashlib.sha256(b"echoes-client-ip\x00" + secret.encode()).digest()
        self.secure_cookie = secure_cookie

    def _sign(self, visitor_id: uuid.UUID) -> str:
        mac = hmac.new(self._key, visitor_id.bytes, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def cookie_value(self, visitor_id: uuid.UUID) -> str:
        return f"{visitor_id.hex}.{self._sign(visitor_id)}"

    def parse(self, value: str | None) -> uuid.UUID | None:
        """The visitor id in a cookie value, or ``None`` if it is missing or forged."""
        if not value or "." not in value:
            return None
        raw_id, _, mac = value.partition(".")
        try:
            visitor_id = uuid.UUID(hex=raw_id)
        except ValueError:
            return None
        return visitor_id if hmac.compare_digest(self._sign(visitor_id), mac) else None

    def cookie(self, visitor_id: uuid.UUID) -> Cookie:
        return Cookie(
            key=VISITOR_COOKIE,
            value=self.cookie_value(visitor_id),
            max_age=VISITOR_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=self.secure_cookie,
            path="/",
        )

    def hash_ip(self, ip: str | None) -> str | None:
        if not ip:
            return None
        return hmac.new(self._ip_key, ip.encode(), hashlib.sha256).hexdigest()
