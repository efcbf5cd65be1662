"""Media storage behind a small interface, and HMAC-signed, expiring media URLs.

Keys are unguessable (a random 128-bit token in every key) and never leave the API except
inside a signed URL: ``/media/<key>?exp=<unix>&sig=<hmac>``. The signature covers the key,
the expiry and the download name, so none of them can be changed without a 403.

Local disk is the embedded default; an S3-compatible backend plugs in behind the same
``Storage`` protocol.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote, urlencode

_KEY_RE = re.compile(r"^[a-z0-9_-]+(/[A-Za-z0-9_.-]+)+$")


@runtime_checkable
class Storage(Protocol):
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def put_file(self, key: str, source: Path) -> None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def local_path(self, key: str) -> Path:
        """A path on local disk holding the object (a cached download for remote stores)."""
        ...


def new_key(area: str, filename: str) -> str:
    """An unguessable key such as ``clips/<22 random chars>/video.mp4``."""
    return f"{area}/{secrets.token_urlsafe(16)}/{filename}"


def validate_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


class LocalStorage:
    """Objects as files under one root directory; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _atomic_target(self, key: str) -> tuple[Path, Path]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path, path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")

    def put_bytes(self, key: str, data: bytes) -> None:
        path, tmp = self._atomic_target(key)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def put_file(self, key: str, source: Path) -> None:
        path, tmp = self._atomic_target(key)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass

    def local_path(self, key: str) -> Path:
        return self._path(key)


class MediaSigner:
    """Signs and verifies ``/media`` URLs with HMAC-SHA256 over key, expiry and name."""

    def __init__(self, secret: str, *, default_ttl: int = 3600, prefix: str = "/media") -> None:
        self._key = hashlib.sha256(b"echoes-media\x00" + secret.encode()).digest()
        self.default_ttl = default_ttl
        self.prefix = prefix

    def _sig(self, key: str, exp: int, download: str | None) -> str:
        msg = f"{key}\n{exp}\n{download or ''}".encode()
        digest = hmac.new(self._key, msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:20]).rstrip(b"=").decode()

    def url(
        self, key: str, *, ttl: int | None = None, download: str | None = None, now: float | None = None
    ) -> str:
        exp = int((now if now is not None else time.time()) + (ttl or self.default_ttl))
        params = {"exp": str(exp)}
        if download:
            params["dl"] = download
        params["sig"] = self._sig(key, exp, download)
        return f"{self.prefix}/{quote(key)}?{urlencode(params)}"

    def verify(
        self, key: str, exp: str | None, sig: str | None, download: str | None = None,
        *, now: float | None = None,
    ) -> bool:
        if not exp or not sig or not exp.isdigit():
            return False
        expected = self._sig(key, int(exp), download)
        if not hmac.compare_digest(expected, sig):
            return False
        return int(exp) >= (now if now is not None else time.time())
