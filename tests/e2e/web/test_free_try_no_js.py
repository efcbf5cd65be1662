"""The free try works with JavaScript turned off: a plain form post and a self-refreshing page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from assembly.probe import probe
from tests.e2e.web.conftest import DESKTOP, WebStack, open_context, screenshot
from tests.paths import PHOTOS

pytestmark = pytest.mark.e2e


async def test_the_free_try_posts_a_form_and_its_status_page_refreshes_until_the_clip_plays(
    browser: Browser, web_stack: WebStack, tmp_path: Path
) -> None:
    async with open_context(browser, web_stack, java_script_enabled=False) as context:
        page = await context.new_page()
        await page.goto("/")
        form = page.locator("form[action='/try/submit']")
        await expect(form).to_have_attribute("enctype", "multipart/form-data")
        await form.get_by_label("Choose a photo").set_input_files(PHOTOS / "phone_portrait.jpg")
        await form.get_by_role("button", name="Bring it to life").click()

        await expect(page).to_have_url(re.compile(r"/try/[0-9a-f-]{36}$"))
        visitor = [c for c in await context.cookies() if c["name"] == "echoes_visitor"]
        assert visitor, "the API's visitor cookie reached the browser through the form post"

        # Until the clip is ready the page asks the browser to reload it every two seconds.
        navigations: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: navigations.append(frame.url) if frame == page.main_frame else None,
        )
        video = page.locator("video")
        assert await video.count() == 0, (
            "a clip takes seconds to make; the first view shows it in progress"
        )
        assert await page.locator("meta[http-equiv='refresh']").get_attribute("content") == "2"
        await expect(page.get_by_role("progressbar")).to_be_visible()
        await screenshot(page, "try-status-working")
        await expect(video).to_be_visible(timeout=120_000)
        assert navigations, "the status page reloaded itself"
        assert await page.locator("meta[http-equiv='refresh']").count() == 0, (
            "a finished page stops refreshing"
        )
        await expect(page.get_by_role("heading", name="Your free clip is ready")).to_be_visible()
        await expect(page.get_by_role("link", name="Sign up to download")).to_have_attribute(
            "href", "/signup?next=%2Fdashboard"
        )
        await screenshot(page, "try-status-ready")

        source = await video.get_attribute("src")
        assert source and source.startswith("/media/")
        response = await page.request.get(source)
        assert response.ok and response.headers["content-type"] == "video/mp4"
        clip = tmp_path / "clip.mp4"
        clip.write_bytes(await response.body())
        info = probe(clip)
        assert info.video is not None and (info.video.width, info.video.height) == (720, 1280)
        assert info.duration == pytest.approx(5.5, abs=0.1)


async def test_a_refused_photo_without_javascript_explains_why_on_a_page(
    browser: Browser, web_stack: WebStack
) -> None:
    for viewport in (None, DESKTOP):
        options = {"viewport": viewport} if viewport else {}
        async with open_context(
            browser, web_stack, java_script_enabled=False, **options
        ) as context:
            page = await context.new_page()
            await page.goto("/")
            form = page.locator("form[action='/try/submit']")
            await form.get_by_label("Choose a photo").set_input_files(
                PHOTOS / "bad_not_an_image.jpg"
            )
            await form.get_by_role("button", name="Bring it to life").click()
            await expect(page).to_have_url(re.compile(r"/try/failed$"))
            await expect(
                page.get_by_role("heading", name="That photo didn't go through")
            ).to_be_visible()
            # The API's own sentence (it sniffs the content, not the name), not a generic one.
            alert = page.get_by_role("alert")
            await expect(alert).to_contain_text(re.compile(r"photo|image", re.I))
            assert "Something went wrong" not in await alert.inner_text()
            await expect(page.get_by_role("link", name="Choose another photo")).to_be_visible()
            await screenshot(page, "try-failed")
