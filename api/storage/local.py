"""Objects as files on local disk: the embedded default."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

import anyio
import anyio.to_thread

from api.storage.base import CHUNK, ObjectNotFound, under_prefix, validate_key


class LocalStorage:
    """Objects as files under one root directory; writes are atomic (temp file + rename).

    File work runs in a worker thread so a large copy never stalls the event loop.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def _existing(self, key: str) -> Path:
        path = self._path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        return path

    def _write(self, key: str, fill: Callable[[Path], object]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        try:
            fill(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    async def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        await anyio.to_thread.run_sync(self._write, key, lambda tmp: tmp.write_bytes(data))

    async def put_file(self, key: str, source: Path, *, content_type: str | None = None) -> None:
        await anyio.to_thread.run_sync(self._write, key, lambda tmp: shutil.copyfile(source, tmp))

    async def read_bytes(self, key: str) -> bytes:
        return await anyio.to_thread.run_sync(lambda: self._existing(key).read_bytes())

    async def download(self, key: str, dest: Path) -> None:
        await anyio.to_thread.run_sync(lambda: shutil.copyfile(self._existing(key), dest))

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    async def read_range(self, key: str, start: int, length: int) -> AsyncIterator[bytes]:
        path = self._existing(key)
        async with await anyio.open_file(path, "rb") as fh:
            await fh.seek(start)
            remaining = length
            while remaining > 0:
                chunk = await fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def _delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass

    async def delete(self, key: str) -> None:
        await anyio.to_thread.run_sync(self._delete, key)

    async def delete_many(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        await anyio.to_thread.run_sync(lambda: [self._delete(key) for key in keys])

    def _keys(self, prefix: str) -> list[str]:
        found = []
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name.startswith("."):
                    continue
                key = (Path(dirpath) / name).relative_to(self.root).as_posix()
                if under_prefix(key, prefix):
                    found.append(key)
        return sorted(found)

    async def list_keys(self, prefix: str = "") -> AsyncIterator[str]:
        for key in await anyio.to_thread.run_sync(self._keys, prefix):
            yield key
