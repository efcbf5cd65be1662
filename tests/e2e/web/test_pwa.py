"""The PWA is installable: a valid manifest with real icons, and a service worker that is
served, registered, controls the page and has the app shell cached."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.async_api import Browser

from tests.e2e.web.conftest import WebStack, open_context
from tests.paths import REPO_ROOT

pytestmark = pytest.mark.e2e


async def test_the_manifest_describes_an_installable_app_with_real_icons(
    browser: Browser, web_stack: WebStack
) -> None:
    async with open_context(browser, web_stack) as context:
        page = await context.new_page()
        await page.goto("/")
        href = await page.locator("link[rel=manifest]").get_attribute("href")
        assert href == "/manifest.webmanifest"
        response = await page.request.get(href)
        assert response.ok and response.headers["content-type"].startswith(
            "application/manifest+json"
        )
        manifest = await response.json()
        assert manifest["name"].startswith("Echoes") and manifest["short_name"] == "Echoes"
        assert manifest["display"] == "standalone"
        assert manifest["start_url"].startswith("/")
        assert manifest["theme_color"] == manifest["background_color"] == "#fbf6ee"
        assert await page.locator("meta[name=theme-color]").get_attribute("content") == "#fbf6ee"

        icons = {
            (icon["sizes"], icon.get("purpose", "any")): icon["src"] for icon in manifest["icons"]
        }
        assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= set(icons)
        for (sizes, purpose), src in icons.items():
            icon = await page.request.get(src)
            assert icon.ok and icon.headers["content-type"] == "image/png", src
            image = Image.open(io.BytesIO(await icon.body()))
            width, height = (int(n) for n in sizes.split("x"))
            assert image.size == (width, height), src
            if purpose == "maskable":
                # Full bleed: the corners are painted (no transparency for the mask to reveal).
                assert image.convert("RGBA").getpixel((0, 0))[3] == 255
        apple = await page.locator("link[rel=apple-touch-icon]").get_attribute("href")
        assert apple and (await page.request.get(apple)).ok


async def test_the_service_worker_is_served_registered_and_controls_the_page(
    browser: Browser, web_stack: WebStack
) -> None:
    build_id = (REPO_ROOT / "web" / ".next" / "BUILD_ID").read_text().strip()
    async with open_context(browser, web_stack) as context:
        page = await context.new_page()
        served = await page.request.get("/sw.js")
        assert served.ok and "javascript" in served.headers["content-type"]
        assert served.headers["cache-control"] == "no-cache", "browsers must check for a new worker"
        assert 'addEventListener("fetch"' in await served.text()

        await page.goto("/")
        script_url = await page.evaluate(
            "navigator.serviceWorker.ready.then(r => r.active.scriptURL)"
        )
        assert script_url == f"{web_stack.web_url}/sw.js?v={build_id}"
        # clients.claim() hands the open page to the worker without a reload.
        await page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=10_000)
        assert await page.evaluate("navigator.serviceWorker.controller.scriptURL") == script_url
        await page.reload()
        assert await page.evaluate("navigator.serviceWorker.controller?.scriptURL") == script_url

        shell = await page.evaluate(
            """async (name) => (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname)""",
            f"echoes-shell-{build_id}",
        )
        assert "/offline" in shell and "/manifest.webmanifest" in shell
        assert any(path.startswith("/_next/static/") and path.endswith(".css") for path in shell), (
            "the offline page's styles"
        )
        assert any(path.startswith("/_next/static/") and path.endswith(".js") for path in shell), (
            "the offline page's scripts"
        )
