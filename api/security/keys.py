"""One key per purpose, derived from ``SECRET_KEY`` with HKDF-SHA256.

Each purpose (session JWTs, refresh tokens, CSRF tokens, media URLs, visitor cookies,
client-address hashes) gets its own key under its own label, so a value signed for one
purpose can never be replayed as another (a media-URL signature is not a valid session
signature), and learning one derived key says nothing about ``SECRET_KEY`` or the others.
Changing a label (the ``v1`` suffix) rotates that one key without touching the rest.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
_SALT = b"echoes/key-derivation"


def derive_key(secret: str, label: str) -> bytes:
    """The 32-byte key for ``label`` (HKDF-SHA256, ``label`` as the info string)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_SALT, info=label.encode()).derive(
        secret.encode()
    )


def as_text(key: bytes) -> str:
    """A derived key as text, for libraries that take their secret as ``str``."""
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode()


@dataclass(frozen=True)
class Keys:
    """The derived keys of one ``SECRET_KEY``. ``repr`` is withheld so keys never reach a log."""

    session_jwt: bytes
    refresh_token: bytes
    csrf: bytes
    media_url: bytes
    visitor_cookie: bytes
    client_ip: bytes

    @classmethod
    def derive(cls, secret: str) -> Keys:
        if not secret:
            raise ValueError("SECRET_KEY is empty; no keys can be derived from it")
        return cls(
            session_jwt=derive_key(secret, "echoes/session-jwt/v1"),
            refresh_token=derive_key(secret, "echoes/refresh-token/v1"),
            csrf=derive_key(secret, "echoes/csrf/v1"),
            media_url=derive_key(secret, "echoes/media-url/v1"),
            visitor_cookie=derive_key(secret, "echoes/visitor-cookie/v1"),
            client_ip=derive_key(secret, "echoes/client-ip/v1"),
        )

    def __repr__(self) -> str:
        return "Keys(<derived>)"
