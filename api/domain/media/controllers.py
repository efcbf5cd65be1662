"""``/media/<key>``: stored files, served only through signed, expiring URLs.

Range requests are supported (browsers seek in videos with them). A tampered, expired or
missing signature answers 403 without saying which; a valid URL for a deleted object 404s.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import anyio
from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter
from litestar.response import Stream

from api.domain.accounts.auth import PUBLIC
from api.errors import EchoesError, Forbidden, NotFound
from api.storage import MediaSigner, Storage

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
CHUNK = 256 * 1024
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(EchoesError):
    status_code = 416
    code = "RANGE_NOT_SATISFIABLE"
    title = "Range not satisfiable"


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range asked for, ``None`` for the whole file; one range only."""
    if not header:
        return None
    match = _RANGE_RE.match(header.strip())
    if not match or (not match[1] and not match[2]):
        raise RangeNotSatisfiable("Only a single byte range is supported.", size=size)
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:
        start, end = max(size - int(match[2]), 0), size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable("The requested range is outside the file.", size=size)
    return start, end


async def _read(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = await fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def content_disposition(filename: str) -> str:
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "") or "echoes"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


class MediaController(Controller):
    opt = PUBLIC
    path = "/media"
    tags = ["media"]

    @get("/{key:path}", operation_id="GetMedia", summary="A stored file, through a signed URL")
    async def get_media(
        self,
        key: FromPath[str],
        storage: NamedDependency[Storage],
        signer: NamedDependency[MediaSigner],
        exp: FromQuery[str | None] = None,
        sig: FromQuery[str | None] = None,
        dl: FromQuery[str | None] = None,
        range_header: Annotated[str | None, HeaderParameter(name="Range")] = None,
    ) -> Response[bytes] | Stream:
        key = key.lstrip("/")
        if not signer.verify(key, exp, sig, dl):
            raise Forbidden("This link has expired or is not valid. Reload the page to get a fresh one.")
        try:
            path = storage.local_path(key)
            size = path.stat().st_size
        except (ValueError, FileNotFoundError):
            raise NotFound("This file no longer exists.") from None
        headers = {
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
        }
        if dl:
            headers["Content-Disposition"] = content_disposition(dl)
        media_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        byte_range = parse_range(range_header, size)
        if byte_range is None:
            headers["Content-Length"] = str(size)
            return Stream(_read(path, 0, size), media_type=media_type, headers=headers)
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        return Stream(
            _read(path, start, end - start + 1), media_type=media_type, headers=headers, status_code=206
        )
