"""A free try posted by another site's page is refused: it would plant a clip of the other
site's choosing in the visitor's browser. Our own page (with or without JavaScript) and
clients that are not browsers get through."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.config import Settings
from tests.integration.helpers import sql
from tests.paths import PHOTOS

PHOTO = {"photo": ("coffee.jpg", (PHOTOS / "coffee.jpg").read_bytes(), "image/jpeg")}
OURS = "http://localhost:3000"  # PUBLIC_URL of the test settings (the default)

REFUSED = {
    "cross-site fetch metadata": {"Sec-Fetch-Site": "cross-site"},
    "cross-site with our origin claimed": {"Sec-Fetch-Site": "cross-site", "Origin": OURS},
    "another origin": {"Origin": "https://evil.example"},
    "another origin, same-site": {"Origin": "http://photos.localhost:3000", "Sec-Fetch-Site": "same-site"},
    "our host on another port": {"Origin": "http://localhost:8080"},
    "our host over another scheme": {"Origin": "https://localhost:3000"},
    "opaque origin": {"Origin": "null"},
}
ALLOWED = {
    "our page (JavaScript)": {"Origin": OURS, "Sec-Fetch-Site": "same-origin"},
    "our page, no-JS form post": {"Origin": OURS, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "navigate"},
    "typed or bookmarked": {"Sec-Fetch-Site": "none"},
    "not a browser": {},
    "our origin without fetch metadata": {"Origin": OURS},
}


def test_the_test_settings_public_url_is_the_origin_used_here(settings: Settings) -> None:
    assert settings.public_url == OURS


@pytest.mark.parametrize("headers", list(REFUSED.values()), ids=list(REFUSED))
async def test_a_cross_site_free_try_is_refused_and_nothing_is_kept(
    client: AsyncTestClient[Any], settings: Settings, headers: dict[str, str]
) -> None:
    response = await client.post("/api/try", files=PHOTO, headers=headers)
    assert response.status_code == 403, response.text
    problem = response.json()
    assert problem["code"] == "CROSS_SITE_REQUEST"
    assert OURS in problem["detail"]
    assert "echoes_visitor" not in response.cookies
    assert await sql(settings.database_url, "SELECT id FROM clips") == []
    assert await sql(settings.database_url, "SELECT id FROM photos") == []


@pytest.mark.parametrize("headers", list(ALLOWED.values()), ids=list(ALLOWED))
async def test_a_free_try_from_our_own_page_or_a_plain_client_is_accepted(
    client: AsyncTestClient[Any], headers: dict[str, str]
) -> None:
    response = await client.post("/api/try", files=PHOTO, headers=headers)
    assert response.status_code == 202, response.text
    assert "echoes_visitor" in response.cookies
