"""Every page, at phone (390×844) and desktop (1280×800) size: no serious or critical axe-core
violations, and a full-page screenshot in tests/artifacts/screenshots/ to look at."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from tests.e2e.web.conftest import (
    DESKTOP,
    PHONE,
    WebStack,
    axe_violations,
    open_context,
    screenshot,
)
from tests.e2e.web.seed import SeededAccount, seed_account

pytestmark = pytest.mark.e2e

VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


@pytest.fixture(scope="module")
async def account(web_stack: WebStack) -> SeededAccount:
    return await seed_account(web_stack.web_url)


async def _settled(page: Page) -> None:
    """Waits for what a person would wait for: fonts and images decoded, videos showing a frame."""
    await page.wait_for_load_state("load")
    await expect(page.get_by_test_id("page-skeleton")).to_have_count(0)
    await page.evaluate(
        """async () => {
            await document.fonts.ready;
            await Promise.all(Array.from(document.images, (img) => img.decode().catch(() => {})));
            await Promise.all(Array.from(document.querySelectorAll("video"), (v) => v.readyState >= 2 || v.preload === "none"
                ? null
                : new Promise((ok) => { v.addEventListener("loadeddata", ok, { once: true }); v.addEventListener("error", ok, { once: true }); setTimeout(ok, 5000); })));
        }"""
    )


async def _check(page: Page, name: str, *, full_page: bool = True) -> None:
    await _settled(page)
    await screenshot(page, name, full_page=full_page)
    violations = await axe_violations(page)
    assert violations == [], f"{name} at {page.viewport_size}:\n" + "\n".join(violations)


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
async def visitor(
    request: pytest.FixtureRequest, browser: Browser, web_stack: WebStack
) -> AsyncIterator[Page]:
    async with open_context(browser, web_stack, viewport=VIEWPORTS[request.param]) as context:
        yield await context.new_page()


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
async def member(
    request: pytest.FixtureRequest, browser: Browser, web_stack: WebStack, account: SeededAccount
) -> AsyncIterator[Page]:
    async with open_context(browser, web_stack, viewport=VIEWPORTS[request.param]) as context:
        await context.add_cookies(
            [
                {"name": name, "value": value, "url": web_stack.web_url}
                for name, value in account.cookies.items()
            ]
        )
        yield await context.new_page()


async def test_visitor_pages_are_accessible(visitor: Page, account: SeededAccount) -> None:
    pages = {
        "landing": "/",
        "signup": "/signup?ref=FRIEND42",
        "login": "/login",
        "pricing": "/credits",
        "public-video": f"/v/{account.share_slug}",
        "public-video-gone": "/v/no-such-video",
        "not-found": "/no/such/page",
        "offline-page": "/offline",
    }
    for name, path in pages.items():
        response = await visitor.goto(path)
        assert response is not None
        assert response.status == (404 if name in ("not-found", "public-video-gone") else 200), (
            f"{path} answered {response.status}"
        )
        await _check(visitor, name)
    await visitor.goto("/signup?ref=FRIEND42")
    await expect(visitor.get_by_label("Referral code")).to_have_value("FRIEND42")


async def test_member_pages_are_accessible(member: Page, account: SeededAccount) -> None:
    pages = {
        "dashboard": "/dashboard",
        "project-editor": f"/projects/{account.project_id}",
        "credits": "/credits",
        "settings": "/settings",
    }
    for name, path in pages.items():
        response = await member.goto(path)
        assert response is not None and response.status == 200, (
            f"{path} answered {response and response.status}"
        )
        await _check(member, name)

    await member.goto(f"/projects/{account.project_id}")
    await expect(member.get_by_test_id("video-panel")).to_have_attribute(
        "data-render-status", "succeeded"
    )
    await (
        member.get_by_test_id("clip-card")
        .first.get_by_role("button", name="Clip 1: Ready. Open to watch or edit.")
        .click()
    )
    dialog = member.get_by_test_id("clip-dialog")
    await expect(dialog).to_be_visible()
    await _check(member, "project-clip-dialog", full_page=False)
    await member.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
