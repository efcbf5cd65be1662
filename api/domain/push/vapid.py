"""The VAPID key pair (RFC 8292) that signs every Web Push request Echoes sends.

``VAPID_PRIVATE_KEY`` may be a PEM (PKCS#8 or SEC1, with real or ``\\n``-escaped line
breaks) or the base64url raw 32-byte scalar that ``web-push generate-vapid-keys`` prints;
the public key is derived from it. ``VAPID_PUBLIC_KEY``, when set as well, must match it:
a mismatch would make browsers subscribe with one key while pushes are signed with another.
"""

from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

from api.config import ConfigurationError, Settings


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = b64url_decode(text)
            if len(raw) != 32:
                raise ValueError(f"a raw VAPID private key is 32 bytes, not {len(raw)}")
            key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ConfigurationError(f"VAPID_PRIVATE_KEY is not a usable key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError("VAPID_PRIVATE_KEY must be an EC key on the P-256 curve")
    return key


@dataclass(frozen=True)
class VapidKeys:
    signer: Vapid
    application_server_key: str
    subject: str

    @classmethod
    def from_settings(cls, settings: Settings) -> VapidKeys:
        return _keys(settings.vapid_private_key, settings.vapid_public_key, settings.vapid_subject)

    def claims(self) -> dict[str, str | int]:
        """A fresh claims dict for one request: pywebpush fills in ``aud`` and ``exp`` by
        mutating it, so one shared across push services would carry the wrong audience."""
        return {"sub": self.subject}


@functools.lru_cache(maxsize=4)
def _keys(private: str, declared_public: str, subject: str) -> VapidKeys:
    key = _load_private_key(private)
    public = b64url(
        key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    if declared_public and declared_public.strip().rstrip("=") != public:
        raise ConfigurationError(
            "VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY; leave it unset to derive it"
        )
    return VapidKeys(signer=Vapid(key), application_server_key=public, subject=subject)
