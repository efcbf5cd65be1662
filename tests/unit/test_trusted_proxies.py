"""The visitor's address survives Caddy and the web server, and a visitor cannot forge it.

The chain in production: browser -> Caddy (sets X-Forwarded-For to its peer) -> web server
(appends its peer, web/server.mjs) -> API. uvicorn, configured by ``proxy_options`` exactly as
``python -m api serve`` is, takes the rightmost address that is not one of TRUSTED_PROXIES.
"""

from __future__ import annotations

from typing import Any

import pytest
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.__main__ import proxy_options
from api.config import ConfigurationError, Settings

CADDY, WEB = "172.28.0.10", "172.28.0.11"


async def _client_seen_by_api(settings: Settings, peer: str, forwarded_for: str | None) -> str:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen["client"] = scope["client"][0]

    options = proxy_options(settings)
    assert options["proxy_headers"] is True
    middleware = ProxyHeadersMiddleware(app, trusted_hosts=str(options["forwarded_allow_ips"]))
    headers = [(b"x-forwarded-for", forwarded_for.encode())] if forwarded_for else []
    scope = {"type": "http", "client": (peer, 40000), "headers": headers, "scheme": "http"}
    await middleware(scope, None, None)
    return str(seen["client"])


def _settings(trusted: str) -> Settings:
    return Settings.from_env({"ECHOES_ENV": "test", "SECRET_KEY": "k" * 40, "TRUSTED_PROXIES": trusted})


@pytest.mark.parametrize("trusted", [f"{CADDY}/32,{WEB}/32", "172.28.0.0/16"])
async def test_the_client_address_survives_two_proxy_hops(trusted: str) -> None:
    settings = _settings(trusted)
    # Caddy saw 203.0.113.7; the web server appended Caddy's address; the API's peer is web.
    assert await _client_seen_by_api(settings, WEB, f"203.0.113.7, {CADDY}") == "203.0.113.7"


async def test_a_forged_forwarded_for_entry_is_ignored() -> None:
    settings = _settings(f"{CADDY}/32,{WEB}/32")
    # The visitor sent "X-Forwarded-For: 1.2.3.4"; Caddy appended the real peer after it.
    forged = f"1.2.3.4, 198.51.100.9, {CADDY}"
    assert await _client_seen_by_api(settings, WEB, forged) == "198.51.100.9"


async def test_a_request_from_outside_the_proxies_is_taken_at_face_value() -> None:
    settings = _settings(f"{CADDY}/32,{WEB}/32")
    assert await _client_seen_by_api(settings, "198.51.100.20", "1.2.3.4") == "198.51.100.20"


@pytest.mark.parametrize("bad", ["*", "not-an-ip", "10.0.0.0/33"])
def test_trusted_proxies_must_be_addresses_or_networks(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES"):
        _settings(bad)
