"""The storage interface every backend implements, and the rules for keys."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Iterable
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

_KEY_RE = re.compile(r"^[a-z0-9_-]+(/[A-Za-z0-9_.-]+)+$")
CHUNK = 256 * 1024
CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
}


class ObjectNotFound(FileNotFoundError):
    """The key names no stored object."""


@runtime_checkable
class Storage(Protocol):
    """Reads of a missing key raise :class:`ObjectNotFound`; invalid keys raise ``ValueError``."""

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None: ...
    async def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None: ...
    async def read_bytes(self, key: str) -> bytes: ...
    async def download(self, key: str, dest: Path) -> None:
        """Copy the object to a local (scratch) file; the caller owns and removes ``dest``."""
        ...
    async def exists(self, key: str) -> bool: ...
    async def size(self, key: str) -> int: ...
    def read_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        """``length`` bytes from ``start``, in chunks (for serving Range requests)."""
        ...
    async def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...
    async def delete_many(self, keys: Iterable[str]) -> None: ...
    def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        """Every key under ``prefix`` (see :func:`under_prefix`)."""
        ...


def new_key(area: str, filename: str) -> str:
    """An unguessable key such as ``clips/<22 random chars>/video.mp4``."""
    return f"{area}/{secrets.token_urlsafe(16)}/{filename}"


def validate_key(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key:
        raise ValueError(f"invalid storage key {key!r}")
    return key


def content_type_for(key: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def under_prefix(key: str, prefix: str) -> bool:
    """Whether ``key`` lies under ``prefix``, matched on whole path segments as S3 listings
    through object_store are (``photos/ab`` covers ``photos/ab/x.jpg``, not ``photos/abc/x.jpg``)."""
    prefix = prefix.strip("/")
    return not prefix or key == prefix or key.startswith(prefix + "/")
