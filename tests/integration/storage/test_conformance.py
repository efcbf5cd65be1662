"""Every backend behind ``Storage`` behaves the same, and its media URLs work in a browser."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from api.storage import ObjectNotFound, new_key
from tests.integration.storage.conftest import Backend

LARGE = 12 * 1024 * 1024


async def test_bytes_round_trip_and_exists(backend: Backend) -> None:
    key = new_key("conformance", "note.txt")
    assert not await backend.storage.exists(key)
    await backend.storage.put_bytes(key, b"hello storage", content_type="text/plain")
    assert await backend.storage.exists(key)
    assert await backend.storage.read_bytes(key) == b"hello storage"
    assert await backend.storage.size(key) == 13


async def test_put_bytes_replaces_an_object(backend: Backend) -> None:
    key = new_key("conformance", "note.txt")
    await backend.storage.put_bytes(key, b"first")
    await backend.storage.put_bytes(key, b"second")
    assert await backend.storage.read_bytes(key) == b"second"


async def test_large_file_goes_up_in_parts_and_comes_back_whole(backend: Backend, tmp_path: Path) -> None:
    source = tmp_path / "large.mp4"
    source.write_bytes(os.urandom(LARGE))
    key = new_key("conformance", "large.mp4")
    await backend.storage.put_file(key, source, content_type="video/mp4")
    assert await backend.storage.size(key) == LARGE
    dest = tmp_path / "copy.mp4"
    await backend.storage.download(key, dest)
    assert dest.read_bytes() == source.read_bytes()
    tail = b"".join([chunk async for chunk in backend.storage.read_range(key, LARGE - 10, 10)])
    assert tail == source.read_bytes()[-10:]


async def test_missing_objects_raise_object_not_found(backend: Backend, tmp_path: Path) -> None:
    key = new_key("conformance", "missing.jpg")
    with pytest.raises(ObjectNotFound):
        await backend.storage.read_bytes(key)
    with pytest.raises(ObjectNotFound):
        await backend.storage.size(key)
    with pytest.raises(ObjectNotFound):
        await backend.storage.download(key, tmp_path / "nothing.jpg")


async def test_delete_removes_the_object_and_a_missing_key_is_fine(backend: Backend) -> None:
    key = new_key("conformance", "gone.jpg")
    await backend.storage.put_bytes(key, b"\xff\xd8\xff")
    await backend.storage.delete(key)
    assert not await backend.storage.exists(key)
    await backend.storage.delete(key)


async def test_delete_many_removes_every_key_given(backend: Backend) -> None:
    keep = new_key("conformance", "keep.jpg")
    doomed = [new_key("conformance", f"doomed-{i}.jpg") for i in range(3)]
    for key in (keep, *doomed):
        await backend.storage.put_bytes(key, key.encode())
    await backend.storage.delete_many([*doomed, new_key("conformance", "never-stored.jpg")])
    assert [await backend.storage.exists(key) for key in doomed] == [False, False, False]
    assert await backend.storage.exists(keep)
    await backend.storage.delete_many([])


async def test_list_keys_returns_the_keys_under_a_prefix(backend: Backend) -> None:
    area = f"list{os.urandom(4).hex()}"
    keys = sorted([f"{area}/a/one.jpg", f"{area}/a/two.jpg", f"{area}/ab/three.jpg", f"{area}/b/four.jpg"])
    for key in keys:
        await backend.storage.put_bytes(key, b"x")
    assert sorted([k async for k in backend.storage.list_keys(area)]) == keys
    assert sorted([k async for k in backend.storage.list_keys(f"{area}/a")]) == keys[:2]
    assert sorted([k async for k in backend.storage.list_keys(f"{area}/a/")]) == keys[:2]
    await backend.storage.delete_many(keys)
    assert [k async for k in backend.storage.list_keys(area)] == []


async def test_keys_that_could_escape_are_refused(backend: Backend) -> None:
    for key in ("../etc/passwd", "photos/../../x.jpg", "/abs/x.jpg", "noslash"):
        with pytest.raises(ValueError):
            await backend.storage.put_bytes(key, b"x")


async def test_media_url_serves_the_object_and_ranges(backend: Backend) -> None:
    key = new_key("conformance", "clip.mp4")
    body = os.urandom(4096)
    await backend.storage.put_bytes(key, body, content_type="video/mp4")
    url = backend.urls.url(key)
    whole = await backend.fetch(url)
    assert whole.status_code == 200
    assert whole.content == body
    assert whole.headers["content-type"] == "video/mp4"
    assert "attachment" not in whole.headers.get("content-disposition", "")
    part = await backend.fetch(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == body[100:200]
    assert part.headers["content-range"] == "bytes 100-199/4096"


async def test_download_url_names_the_file(backend: Backend) -> None:
    key = new_key("conformance", "video.mp4")
    await backend.storage.put_bytes(key, b"movie", content_type="video/mp4")
    reply = await backend.fetch(backend.urls.url(key, download="Grandma’s 90th.mp4"))
    assert reply.status_code == 200
    disposition = reply.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="Grandmas 90th.mp4"' in disposition
    assert "filename*=UTF-8''Grandma%E2%80%99s%2090th.mp4" in disposition


async def test_expired_media_url_is_refused(backend: Backend) -> None:
    key = new_key("conformance", "old.jpg")
    await backend.storage.put_bytes(key, b"\xff\xd8\xff")
    stale = backend.urls.url(key, ttl=60, now=time.time() - 3600)
    assert (await backend.fetch(stale)).status_code == 403


async def test_tampered_media_url_is_refused(backend: Backend) -> None:
    key, other = new_key("conformance", "mine.jpg"), new_key("conformance", "theirs.jpg")
    for k in (key, other):
        await backend.storage.put_bytes(k, b"\xff\xd8\xff")
    url = backend.urls.url(key)
    assert (await backend.fetch(url.replace(key, other))).status_code == 403
    renamed = backend.urls.url(key, download="a.jpg")
    assert (await backend.fetch(renamed.replace("a.jpg", "b.jpg"))).status_code == 403
    last = url[-1]
    assert (await backend.fetch(url[:-1] + ("0" if last != "0" else "1"))).status_code == 403
