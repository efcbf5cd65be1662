"""``/media/<key>``: stored files, served only through signed, expiring URLs.

Range requests are supported (browsers seek in videos with them). A tampered, expired or
missing signature answers 403 without saying which; a valid URL for a deleted object 404s.
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter
from litestar.response import Stream

from api.domain.accounts.auth import PUBLIC
from api.errors import EchoesError, Forbidden, NotFound
from api.storage import MediaUrls, ObjectNotFound, Storage, content_disposition, content_type_for

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


class MediaController(Controller):
    opt = PUBLIC
    path = "/media"
    tags = ["media"]

    @get("/{key:path}", operation_id="GetMedia", summary="A stored file, through a signed URL")
    async def get_media(
        self,
        key: FromPath[str],
        storage: NamedDependency[Storage],
        signer: NamedDependency[MediaUrls],
        exp: FromQuery[str | None] = None,
        sig: FromQuery[str | None] = None,
        dl: FromQuery[str | None] = None,
        range_header: Annotated[str | None, HeaderParameter(name="Range")] = None,
    ) -> Response[bytes] | Stream:
        key = key.lstrip("/")
        if not signer.verify(key, exp, sig, dl):
            raise Forbidden("This link has expired or is not valid. Reload the page to get a fresh one.")
        try:
            size = await storage.size(key)
        except (ValueError, ObjectNotFound):
            raise NotFound("This file no longer exists.") from None
        headers = {
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=300",
            "X-Content-Type-Options": "nosniff",
        }
        if dl:
            headers["Content-Disposition"] = content_disposition(dl)
        media_type = content_type_for(key)
        byte_range = parse_range(range_header, size)
        if byte_range is None:
            headers["Content-Length"] = str(size)
            return Stream(storage.read_range(key, 0, size), media_type=media_type, headers=headers)
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        return Stream(
            storage.read_range(key, start, end - start + 1), media_type=media_type, headers=headers, status_code=206
        )
