"""A local Web Push service (RFC 8030 + RFC 8291 + RFC 8292) that checks what it is sent.

It plays both sides a real push service sits between: :meth:`PushServiceFake.browser`
makes a browser's subscription (a P-256 key pair and a 16-byte auth secret held by the
test, an endpoint on this server, bound to one application server key as
``pushManager.subscribe()`` binds it), and every POST to an endpoint is checked the way
FCM, Mozilla's autopush or Apple's service check it:

- ``Authorization: vapid t=<JWT>, k=<key>``: the key must be the one the subscription was
  made with, the ES256 signature must verify with it, ``aud`` must be this server's origin,
  ``exp`` in the future and at most 24 h away, ``sub`` a ``mailto:`` or ``https:`` URL
  (403 otherwise);
- ``Content-Encoding: aes128gcm`` and a ``TTL``; ``Topic`` at most 32 base64url characters
  and ``Urgency`` one of the four RFC 8030 values when present (400 otherwise);
- a body of at most 4096 bytes (413 otherwise), which must decrypt with the subscription's
  private key and auth secret to UTF-8 JSON (400 otherwise).

An accepted push answers 201 and is recorded as a :class:`Push` (payload, headers, claims).
Scripted answers (:meth:`~PushServiceFake.answer_next`: a 429 with ``Retry-After``, a 503)
and unsubscribed browsers (:meth:`~PushServiceFake.unsubscribe`: 410 Gone) exercise the
sender's error handling. Every request, accepted or not, is in :attr:`requests`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MAX_BODY_BYTES = 4096
MAX_JWT_LIFETIME_SECONDS = 24 * 3600
URGENCIES = {"very-low", "low", "normal", "high"}
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Browser:
    """One browser's push subscription, with the private half the test keeps."""

    token: str
    endpoint: str
    application_server_key: str
    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription_json(self, *, expiration_time: float | None = None) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` returns in the browser."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": expiration_time,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)},
        }


@dataclass(frozen=True)
class Push:
    token: str
    payload: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]
    encrypted_size: int
    received_at: float


@dataclass(frozen=True)
class Request:
    token: str
    status: int
    reason: str
    received_at: float


class PushServiceFake:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._browsers: dict[str, Browser] = {}
        self._gone: set[str] = set()
        self._scripted: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.pushes: list[Push] = []
        self.requests: list[Request] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> PushServiceFake:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # what a test does

    def browser(self, application_server_key: str) -> Browser:
        token = secrets.token_urlsafe(24)
        browser = Browser(
            token=token,
            endpoint=f"{self.origin}/push/{token}",
            application_server_key=application_server_key,
            private_key=ec.generate_private_key(ec.SECP256R1()),
        )
        with self._lock:
            self._browsers[token] = browser
        return browser

    def unsubscribe(self, browser: Browser) -> None:
        """The browser dropped the subscription: pushes to it now answer 410 Gone."""
        with self._lock:
            self._gone.add(browser.token)

    def answer_next(self, browser: Browser, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next valid push to ``browser`` with ``status`` instead of accepting it."""
        with self._lock:
            self._scripted.setdefault(browser.token, []).append((status, headers or {}))

    def pushes_to(self, browser: Browser) -> list[Push]:
        with self._lock:
            return [p for p in self.pushes if p.token == browser.token]

    def requests_to(self, browser: Browser) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.token == browser.token]

    def refused(self) -> list[Request]:
        """Requests refused for what they were (not scripted answers or 410s)."""
        with self._lock:
            return [r for r in self.requests if r.status in (400, 403, 413)]

    # the server

    def _handle(self, token: str, headers: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        with self._lock:
            browser = self._browsers.get(token)
            gone = token in self._gone
        if browser is None:
            return 404, "no such subscription", {}
        if gone:
            return 410, "subscription expired or unsubscribed", {}
        try:
            claims = self._check_vapid(browser, headers.get("authorization", ""))
        except ValueError as exc:
            return 403, str(exc), {}
        problem = self._check_headers(headers)
        if problem:
            return 400, problem, {}
        if len(body) > MAX_BODY_BYTES:
            return 413, f"payload of {len(body)} bytes exceeds {MAX_BODY_BYTES}", {}
        try:
            plain = http_ece.decrypt(
                body, private_key=browser.private_key, auth_secret=browser.auth_secret, version="aes128gcm"
            )
            payload = json.loads(plain.decode())
        except Exception as exc:  # any failure to decrypt or parse is the sender's fault
            return 400, f"payload does not decrypt to JSON: {type(exc).__name__}: {exc}", {}
        with self._lock:
            scripted = self._scripted.get(token)
            if scripted:
                status, extra = scripted.pop(0)
                return status, "scripted answer", extra
            self.pushes.append(Push(token, payload, headers, claims, len(body), time.monotonic()))
        return 201, "created", {"Location": f"/message/{secrets.token_urlsafe(8)}"}

    def _check_vapid(self, browser: Browser, authorization: str) -> dict[str, Any]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError(f"authorization scheme {scheme!r} is not vapid")
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        if key.rstrip("=") != browser.application_server_key:
            raise ValueError("VAPID key is not the one the subscription was made with")
        try:
            header_b64, claims_b64, signature_b64 = token.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except ValueError as exc:
            raise ValueError(f"malformed VAPID JWT: {exc}") from None
        if header.get("alg") != "ES256" or len(signature) != 64:
            raise ValueError("VAPID JWT must be ES256 with a 64-byte signature")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise ValueError("VAPID JWT signature does not verify") from None
        if claims.get("aud") != self.origin:
            raise ValueError(f"VAPID aud {claims.get('aud')!r} is not {self.origin!r}")
        exp, now = claims.get("exp"), time.time()
        if not isinstance(exp, int) or not now < exp <= now + MAX_JWT_LIFETIME_SECONDS:
            raise ValueError(f"VAPID exp {exp!r} is not within the next 24 hours")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError(f"VAPID sub {claims.get('sub')!r} is not a mailto: or https: URL")
        return claims

    @staticmethod
    def _check_headers(headers: dict[str, str]) -> str | None:
        if headers.get("content-encoding") != "aes128gcm":
            return f"content-encoding {headers.get('content-encoding')!r} is not aes128gcm"
        if not headers.get("ttl", "").isdigit():
            return f"TTL {headers.get('ttl')!r} is not a number of seconds"
        topic = headers.get("topic")
        if topic is not None and (len(topic) > 32 or not _B64URL.match(topic)):
            return f"Topic {topic!r} is not at most 32 base64url characters"
        urgency = headers.get("urgency")
        if urgency is not None and urgency not in URGENCIES:
            return f"Urgency {urgency!r} is not one of {sorted(URGENCIES)}"
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                token = self.path.removeprefix("/push/")
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, reason, extra = fake._handle(token, headers, body)
                with fake._lock:
                    fake.requests.append(Request(token, status, reason, time.monotonic()))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                answer = b"" if status == 201 else json.dumps({"reason": reason}).encode()
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
