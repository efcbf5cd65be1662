"""Offline: a clip watched once plays again without a connection; unseen pages say so kindly."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.web.conftest import WebStack, open_context, screenshot
from tests.paths import PHOTOS

pytestmark = pytest.mark.e2e

PLAYS = """v => new Promise((resolve) => {
    const start = v.currentTime;
    const check = () => (v.currentTime > start + 0.3 && v.readyState >= 3 ? resolve(true) : setTimeout(check, 100));
    v.muted = true;
    v.play().catch(() => {});
    check();
})"""


async def _media_cached(page: Page, source: str) -> bool:
    return await page.evaluate(
        """async (source) => {
            const cache = await caches.open("echoes-media");
            return Boolean(await cache.match(new URL(source, location.href).pathname));
        }""",
        source,
    )


async def test_a_watched_clip_plays_offline_and_unvisited_pages_show_the_offline_page(
    browser: Browser, web_stack: WebStack
) -> None:
    async with open_context(browser, web_stack) as context:
        page = await context.new_page()
        await page.goto("/")
        await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        await page.locator("[data-testid=free-try] input[type=file]").set_input_files(
            PHOTOS / "rocket.jpg"
        )
        await page.get_by_role("button", name="Bring it to life").click()
        clip = page.get_by_test_id("free-try-ready").locator("video")
        await expect(clip).to_be_visible(timeout=60_000)
        assert await clip.evaluate(PLAYS), "the clip plays online"
        source = await clip.get_attribute("src")
        assert source and source.startswith("/media/")
        # The page tells the service worker a video played; the worker keeps the whole file.
        await page.wait_for_function(
            """async (source) => Boolean(await (await caches.open("echoes-media")).match(new URL(source, location.href).pathname))""",
            arg=source,
            polling=200,
            timeout=20_000,
        )
        assert await _media_cached(page, source)

        await context.set_offline(True)
        await page.reload()
        clip = page.get_by_test_id("free-try-ready").locator("video")
        await expect(clip).to_be_visible()
        assert await clip.evaluate(PLAYS), "the watched clip plays from the device, offline"
        # The player asked for byte ranges; the worker answered them from the whole cached file.
        assert await clip.evaluate("v => v.duration") == pytest.approx(5.5, abs=0.1)
        await screenshot(page, "offline-watched-clip")

        await page.goto("/credits")
        await expect(page.get_by_test_id("offline-page")).to_be_visible()
        await expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
        await expect(page).to_have_url(re.compile(r"/credits$"))
        # It lists the pages this device kept: the landing page the clip was watched on.
        saved = page.get_by_role("navigation", name="Saved on this device")
        await expect(saved.get_by_role("link", name=re.compile("^Home"))).to_have_attribute(
            "href", "/"
        )
        await screenshot(page, "offline")
        await context.set_offline(False)
