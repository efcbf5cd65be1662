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

from api.security.keys import Keys

VISITOR_COOKIE = "echoes_visitor"
VISITOR_MAX_AGE = 365 * 24 * 3600
_MAC_BYTES = 16


class VisitorIdentity:
    def __init__(self, keys: Keys, *, secure_cookie: bool) -> None:
        self._key = keys.visitor_cookie
        self._ip_key = keys.client_ip
        self.secure_cookie = secure_cookie

    def _mac(self, visitor_id: uuid.UUID) -> bytes:
        return hmac.new(self._key, visitor_id.bytes, hashlib.sha256).digest()[:_MAC_BYTES]

    def cookie_value(self, visitor_id: uuid.UUID) -> str:
        mac = base64.urlsafe_b64encode(self._mac(visitor_id)).rstrip(b"=").decode()
        return f"{visitor_id.hex}.{mac}"

    def parse(self, value: str | None) -> uuid.UUID | None:
        """The visitor id in a cookie value, or ``None`` if it is missing, malformed or forged."""
        if not value or not value.isascii():
            return None
        raw_id, dot, raw_mac = value.partition(".")
        if not dot or len(raw_id) != 32:
            return None
        try:
            visitor_id = uuid.UUID(hex=raw_id)
            mac = base64.urlsafe_b64decode(raw_mac + "=" * (-len(raw_mac) % 4))
        except ValueError:
            return None
        return visitor_id if hmac.compare_digest(self._mac(visitor_id), mac) else None

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
