"""Objects in an S3-compatible bucket, through obstore (Rust's object_store, async).

Large files go up as multipart uploads read from disk part by part, and downloads are
written to disk chunk by chunk, so no object is ever held whole in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import anyio
import obstore
from obstore.store import S3Store

from api.config import S3Settings
from api.storage.base import CHUNK, ObjectNotFound, content_type_for, validate_key

#: Objects larger than one part go up as multipart uploads of this part size.
PART_SIZE = 8 * 1024 * 1024
#: obstore deletes in batches of up to 1,000 keys per request (S3's DeleteObjects limit).
_DELETE_BATCH = 1000


class S3Storage:
    def __init__(self, config: S3Settings) -> None:
        self.config = config
        self.store = S3Store(
            config.bucket,
            endpoint=config.endpoint,
            region=config.region,
            access_key_id=config.access_key_id,
            secret_access_key=config.secret_access_key,
            virtual_hosted_style_request=False,
            client_options={"allow_http": config.endpoint.startswith("http://")},
        )

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        await obstore.put_async(
            self.store, validate_key(key), data,
            attributes={"Content-Type": content_type or content_type_for(key)},
        )

    async def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None:
        await obstore.put_async(
            self.store, validate_key(key), source,
            attributes={"Content-Type": content_type or content_type_for(key)},
            chunk_size=PART_SIZE, max_concurrency=4,
        )

    async def read_bytes(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self.store, validate_key(key))
            return bytes(await result.bytes_async())
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    async def download(self, key: str, dest: Path) -> None:
        try:
            result = await obstore.get_async(self.store, validate_key(key))
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        async with await anyio.open_file(dest, "wb") as fh:
            async for chunk in result.stream(min_chunk_size=CHUNK):
                await fh.write(memoryview(chunk))

    async def exists(self, key: str) -> bool:
        try:
            await obstore.head_async(self.store, validate_key(key))
        except FileNotFoundError:
            return False
        return True

    async def size(self, key: str) -> int:
        try:
            meta = await obstore.head_async(self.store, validate_key(key))
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        return meta["size"]

    async def read_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        if length <= 0:
            return
        try:
            result = await obstore.get_async(
                self.store, validate_key(key), options={"range": (start, start + length)}
            )
        except FileNotFoundError:
            raise ObjectNotFound(key) from None
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)

    async def delete(self, key: str) -> None:
        await obstore.delete_async(self.store, validate_key(key))

    async def delete_many(self, keys: Iterable[str]) -> None:
        batch = [validate_key(key) for key in keys]
        for start in range(0, len(batch), _DELETE_BATCH):
            await obstore.delete_async(self.store, batch[start : start + _DELETE_BATCH])

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        async for page in obstore.list(self.store, prefix=prefix.strip("/") or None, chunk_size=500):
            for meta in page:
                yield meta["path"]
