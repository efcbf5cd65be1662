"""The outbound guard against a real local HTTP server: what it refuses is never requested,
and every redirect hop is checked again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.net import OutboundPolicy, UnsafeURL, guarded_get
from tests.fakes._threaded_http import FakeHTTPServer, FakeRequest, Reply
from worker.providers.base import ProviderFailed
from worker.providers.http import CODE_UNSAFE_URL, download_to_file


class RedirectingServer(FakeHTTPServer):
    """``/video.mp4`` is a video; ``/to?u=URL`` redirects there."""

    def route(self, request: FakeRequest) -> Reply:
        if request.path == "/to":
            return Reply(302, headers={"Location": request.query["u"]})
        return Reply(200, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, {"Content-Type": "video/mp4"})


@pytest.fixture
def server() -> Iterator[RedirectingServer]:
    with RedirectingServer() as fake:
        yield fake


async def test_a_provider_output_on_loopback_is_refused_without_a_request(
    server: RedirectingServer, tmp_path: Path
) -> None:
    async with httpx.AsyncClient() as client:
        for url in (f"{server.url}/video.mp4", f"{server.url.replace('http://127.0.0.1', 'https://localhost')}/video.mp4"):
            with pytest.raises(ProviderFailed) as refused:
                await download_to_file(client, url, tmp_path / "out.mp4", provider="runway", outbound=OutboundPolicy())
            assert refused.value.code == CODE_UNSAFE_URL
    assert server.requests == []
    assert not (tmp_path / "out.mp4").exists()


async def test_a_redirect_to_a_private_address_is_refused_at_that_hop(server: RedirectingServer) -> None:
    policy = OutboundPolicy(allow_loopback=True)
    async with httpx.AsyncClient() as client:
        for target in ("http://10.0.0.1/secret", "https://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/"):
            with pytest.raises(UnsafeURL):
                async with guarded_get(client, f"{server.url}/to?u={target}", policy):
                    pass
    assert [r.path for r in server.requests] == ["/to", "/to", "/to"]


async def test_an_allowed_redirect_is_followed_and_sent_to_the_checked_address(server: RedirectingServer) -> None:
    policy = OutboundPolicy(allow_loopback=True)
    named = server.url.replace("127.0.0.1", "localhost")
    async with httpx.AsyncClient() as client, guarded_get(client, f"{server.url}/to?u={named}/video.mp4", policy) as response:
        body = await response.aread()
    assert response.status_code == 200 and body.startswith(b"\x00\x00\x00\x18ftyp")
    assert [r.path for r in server.requests] == ["/to", "/video.mp4"]
    assert server.requests[1].header("host") == named.removeprefix("http://")
