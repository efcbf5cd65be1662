"""Anonymous limits count a client's network: an IPv4 address, or an IPv6 /64 (a subscriber
can use any address of their /64, so counting single addresses would not limit them)."""

from __future__ import annotations

import pytest

from api.ratelimit import client_network
from tests.integration.limits.conftest import LimitedApp
from tests.paths import PHOTOS

PHOTO = {"photo": ("rocket.jpg", (PHOTOS / "rocket.jpg").read_bytes(), "image/jpeg")}


@pytest.mark.parametrize(
    ("one", "other", "same_bucket"),
    [
        ("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:fffe", True),
        ("2001:db8:1:2::1", "2001:DB8:1:2:0:0:0:9", True),
        ("2001:db8:1:2::1", "2001:db8:1:3::1", False),
        ("2001:db8:1:2::1", "2001:db9:1:2::1", False),
        ("192.0.2.1", "192.0.2.2", False),
        ("192.0.2.1", "::ffff:192.0.2.1", True),
        ("192.0.2.1", "192.0.2.1", True),
    ],
)
def test_client_network_groups_ipv6_by_64_and_ipv4_by_address(one: str, other: str, same_bucket: bool) -> None:
    assert (client_network(one) == client_network(other)) is same_bucket


async def test_two_addresses_in_one_ipv6_64_share_a_free_try_bucket(limited_app: LimitedApp) -> None:
    async with limited_app(RATE_LIMIT_START_FREE_TRY_PER_HOUR="1") as limited:
        client = limited.client
        limited.address.host = "2001:db8:1:2::1"
        assert (await client.post("/api/try", files=PHOTO)).status_code == 202

        client.cookies.clear()
        limited.address.host = "2001:db8:1:2:abcd:ef01:2345:6789"
        same_64 = await client.post("/api/try", files=PHOTO)
        assert same_64.status_code == 429
        assert same_64.json()["code"] == "RATE_LIMITED"

        client.cookies.clear()
        limited.address.host = "2001:db8:1:3::1"
        assert (await client.post("/api/try", files=PHOTO)).status_code == 202


async def test_ipv4_addresses_are_counted_one_by_one(limited_app: LimitedApp) -> None:
    async with limited_app(RATE_LIMIT_START_FREE_TRY_PER_HOUR="1") as limited:
        client = limited.client
        for host in ("192.0.2.1", "192.0.2.2"):
            client.cookies.clear()
            limited.address.host = host
            assert (await client.post("/api/try", files=PHOTO)).status_code == 202
        client.cookies.clear()
        assert (await client.post("/api/try", files=PHOTO)).status_code == 429


async def test_the_daily_free_try_allowance_per_network_also_counts_the_ipv6_64(limited_app: LimitedApp) -> None:
    async with limited_app(FREE_TRY_PER_IP="1") as limited:
        client = limited.client
        limited.address.host = "2001:db8:aa:bb::10"
        assert (await client.post("/api/try", files=PHOTO)).status_code == 202
        client.cookies.clear()
        limited.address.host = "2001:db8:aa:bb::20"
        refused = await client.post("/api/try", files=PHOTO)
        assert refused.status_code == 429
        assert "free clip" in refused.json()["detail"]
