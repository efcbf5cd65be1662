"""The whole journey on a phone (390×844), as a person would take it, in real Chromium.

Free try -> sign up (the clip is claimed) -> demo checkout (the balance rises when the
webhook lands) -> a project with three fixture photos (shrunk in the browser first) -> clips
-> reorder -> music -> render -> download (the MP4 is probed) -> share -> the public page
shows the video with its Open Graph tags, and nothing private.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, Request, expect

from assembly.probe import probe
from tests.e2e.web.conftest import WebStack, open_context, screenshot
from tests.paths import PHOTOS

pytestmark = pytest.mark.e2e

#: A sideways 12 MP phone photo (EXIF orientation 6, GPS), a cat, a coffee cup.
PROJECT_PHOTOS = ["phone_12mp_orient6_gps.jpg", "chelsea.jpg", "coffee.jpg"]
CLIPS_TIMEOUT_MS = 120_000
RENDER_TIMEOUT_MS = 150_000


#: Records every file the page sends with XMLHttpRequest, to check what left the browser.
RECORD_SENT_FILES = """
window.__sentFiles = [];
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (body instanceof FormData) {
    for (const [field, value] of body.entries()) if (value instanceof File) window.__sentFiles.push({ field, file: value });
  }
  return send.call(this, body);
};
"""

READ_SENT_FILES = """async () => Promise.all(window.__sentFiles.map(async ({ field, file }) => {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { field, name: file.name, type: file.type, base64: btoa(binary) };
}))"""


async def _clip_order(page: Page) -> list[str]:
    return await page.locator("[data-testid=clip-card]").evaluate_all(
        "cards => cards.map(c => c.dataset.clipId)"
    )


async def test_a_visitor_tries_signs_up_buys_makes_and_shares_a_video(
    browser: Browser, web_stack: WebStack, tmp_path: Path
) -> None:
    async with open_context(browser, web_stack) as context:
        page = await context.new_page()
        await page.add_init_script(RECORD_SENT_FILES)

        # --- Free try: a photo in, a watermarked clip playing in place, then the sign-up prompt.
        await page.goto("/")
        await page.locator("[data-testid=free-try] input[type=file]").set_input_files(
            PHOTOS / "astronaut.jpg"
        )
        await expect(page.get_by_alt_text("The photo you chose")).to_be_visible()
        async with page.expect_response(
            lambda r: r.url.endswith("/api/try") and r.request.method == "POST"
        ) as created:
            await page.get_by_role("button", name="Bring it to life").click()
        try_id = (await (await created.value).json())["id"]
        ready = page.get_by_test_id("free-try-ready")
        await expect(ready).to_be_visible(timeout=60_000)
        free_clip = ready.locator("video")
        await expect(free_clip).to_have_attribute("src", re.compile(r"^/media/"))
        await screenshot(page, "journey-free-try-ready")

        # --- Sign up from the prompt: the free clip is claimed into the new account.
        await ready.get_by_role("link", name="Sign up to download").click()
        await expect(page).to_have_url(re.compile(r"/signup"))
        email = f"journey-{uuid.uuid4().hex[:10]}@example.com"
        await page.get_by_label("Your name").fill("Rosa Marsh")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill("a long enough password")
        await page.get_by_role("button", name="Create my account").click()
        await expect(page).to_have_url(re.compile(rf"/dashboard\?claimed={try_id}$"))
        await expect(page.get_by_test_id("free-clip-card")).to_be_visible()
        await expect(page.get_by_test_id("credit-balance")).to_contain_text("0")
        await screenshot(page, "journey-dashboard-new")

        # --- Demo checkout: the balance rises once the (signed) webhook has been processed. (No
        # sign-up bonus yet: it waits for a verified e-mail address.)
        await page.goto("/credits")
        await expect(page.get_by_test_id("credits-balance")).to_have_text("0 credits")
        await page.get_by_role("button", name="Buy 5 credits").click()
        await expect(page).to_have_url(re.compile(r"/api/credits/demo-checkout/"))
        await expect(page.get_by_text("Demo checkout — no real payment is taken")).to_be_visible()
        await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await expect(page).to_have_url(re.compile(r"/credits\?checkout=success"))
        await expect(page.get_by_test_id("credits-balance")).to_have_text("5 credits")
        await expect(page.get_by_text("5 credits added to your balance")).to_be_visible()
        await expect(page.get_by_test_id("credit-balance")).to_contain_text("5")

        # --- A tall project with three photos, each shrunk in the browser before it is sent.
        await page.goto("/dashboard")
        await page.get_by_label("What is it about?").fill("Grandma's garden")
        await page.get_by_role("button", name="Create project").click()
        await expect(page).to_have_url(re.compile(r"/projects/[0-9a-f-]{36}$"))
        project_id = page.url.rsplit("/", 1)[1]

        uploads: list[Request] = []
        page.on(
            "request",
            lambda r: uploads.append(r)
            if r.method == "POST" and r.url.endswith("/photos")
            else None,
        )
        await page.locator("[data-testid=photo-uploader][data-ready=true]").wait_for()
        await page.get_by_label("Add photos").set_input_files(
            [PHOTOS / name for name in PROJECT_PHOTOS]
        )
        await expect(page.get_by_test_id("clip-card")).to_have_count(3, timeout=60_000)
        assert len(uploads) == 3, "each photo goes up in its own request"
        files = await page.evaluate(READ_SENT_FILES)
        assert {f["field"] for f in files} == {"photos"}
        sent = {f["name"]: base64.b64decode(f["base64"]) for f in files}
        assert set(sent) == {"phone_12mp_orient6_gps.jpg", "chelsea.jpg", "coffee.jpg"}
        phone_photo = Image.open(io.BytesIO(sent["phone_12mp_orient6_gps.jpg"]))
        assert phone_photo.size == (1536, 2048), "shrunk to 2048 px on its long side, and upright"
        assert not phone_photo.getexif(), "re-encoded in the browser without its EXIF (and GPS)"
        assert (
            len(sent["phone_12mp_orient6_gps.jpg"])
            < (PHOTOS / "phone_12mp_orient6_gps.jpg").stat().st_size
        )
        assert sent["chelsea.jpg"] == (PHOTOS / "chelsea.jpg").read_bytes(), (
            "small photos go up untouched"
        )

        # --- Clips: three credits for three photos, then live status until all are ready.
        await expect(page.get_by_test_id("generate-bar")).to_contain_text(
            "3 photos ready to animate"
        )
        await page.get_by_test_id("generate-clips").click()
        await expect(page.get_by_test_id("credit-balance")).to_contain_text("2")
        await expect(page.locator("[data-testid=clip-card][data-status=succeeded]")).to_have_count(
            3, timeout=CLIPS_TIMEOUT_MS
        )
        await screenshot(page, "journey-clips-ready")

        # --- Reorder by keyboard: the first clip moves to second place, and stays there.
        before = await _clip_order(page)
        async with page.expect_response(
            lambda r: r.url.endswith("/order") and r.request.method == "PUT"
        ) as reordered:
            await page.get_by_test_id("clip-handle").first.focus()
            await page.keyboard.press("ArrowRight")
        assert (await reordered.value).ok
        expected = [before[1], before[0], before[2]]
        assert await _clip_order(page) == expected
        await page.reload()
        assert await _clip_order(page) == expected, "the new order was saved"

        # --- Reorder by dragging: the last clip's handle dragged onto the first card.
        await page.get_by_test_id("clip-grid").evaluate(
            "grid => grid.scrollIntoView({ block: 'start' })"
        )
        async with page.expect_response(
            lambda r: r.url.endswith("/order") and r.request.method == "PUT"
        ) as dragged:
            await (
                page.get_by_test_id("clip-handle")
                .nth(2)
                .drag_to(page.get_by_test_id("clip-card").nth(0), steps=8)
            )
        assert (await dragged.value).ok
        expected = [expected[2], expected[0], expected[1]]
        assert await _clip_order(page) == expected

        # --- Music: a built-in track, saved with the project.
        music = page.get_by_test_id("music-picker")
        track_radio = music.get_by_role("radio").nth(1)
        async with page.expect_response(
            lambda r: r.url.endswith("/music") and r.request.method == "PUT"
        ) as saved_music:
            await track_radio.check()
        saved = await (await saved_music.value).json()
        track_id = await track_radio.get_attribute("value")
        assert saved["music"]["trackId"] == track_id
        await expect(page.get_by_test_id("music-save-state")).to_have_text("Saved")

        # --- Render, with live progress, then play.
        await page.get_by_test_id("create-video").click()
        panel = page.get_by_test_id("video-panel")
        await expect(panel).to_have_attribute(
            "data-render-status", re.compile("queued|rendering|succeeded")
        )
        await expect(panel).to_have_attribute(
            "data-render-status", "succeeded", timeout=RENDER_TIMEOUT_MS
        )
        final_video = page.get_by_test_id("final-video")
        await expect(final_video).to_be_visible()
        await screenshot(page, "journey-video-ready")

        # --- Download: a real, unwatermarked-size MP4 with the music on it.
        async with page.expect_download() as download_info:
            await page.get_by_test_id("download-video").click()
        download = await download_info.value
        assert re.fullmatch(r"Grandma[-A-Za-z0-9]*garden\.mp4", download.suggested_filename), (
            download.suggested_filename
        )
        video_path = tmp_path / "video.mp4"
        await download.save_as(video_path)
        info = probe(video_path)
        assert info.video is not None and info.video.codec == "h264"
        assert (info.video.width, info.video.height) == (720, 1280), (
            "a tall project makes a 9:16 video"
        )
        assert info.audio is not None, "the music is in the video"
        assert 8.0 <= info.duration <= 20.0, info.duration

        # --- Share, then the public page, seen by somebody else entirely.
        await page.get_by_test_id("share-video").click()
        share_link = page.get_by_test_id("share-link")
        await expect(share_link).to_be_visible()
        public_url = await share_link.get_attribute("href")
        assert public_url and re.fullmatch(
            rf"{re.escape(web_stack.web_url)}/v/[A-Za-z0-9_-]+", public_url
        ), public_url

    async with open_context(browser, web_stack) as stranger:
        page = await stranger.new_page()
        response = await page.goto(public_url)
        assert response is not None and response.ok
        public_video = page.get_by_test_id("public-video")
        await expect(public_video).to_be_visible()
        await expect(page.get_by_role("heading", name="Grandma's garden")).to_be_visible()
        assert await public_video.evaluate(
            "v => new Promise(ok => v.readyState >= 1 ? ok(true) : v.addEventListener('loadedmetadata', () => ok(true), { once: true }))"
        )

        async def meta(attribute: str, name: str) -> str:
            content = await page.locator(f"meta[{attribute}='{name}']").first.get_attribute(
                "content"
            )
            assert content, f"missing <meta {attribute}={name}>"
            return content

        assert await meta("property", "og:title") == "Grandma's garden"
        assert await meta("property", "og:type") == "video.other"
        assert await meta("property", "og:url") == public_url
        og_image = await meta("property", "og:image")
        og_video = await meta("property", "og:video")
        assert await meta("name", "twitter:card") == "summary_large_image"
        assert await meta("name", "twitter:image") == og_image
        async with httpx.AsyncClient(timeout=30) as client:
            image = await client.get(og_image)
            assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
            poster = Image.open(io.BytesIO(image.content))
            assert poster.format == "JPEG" and poster.height > poster.width, (
                "the tall video's poster"
            )
            video = await client.get(og_video, follow_redirects=True)
            assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
            assert len(video.content) == video_path.stat().st_size

        html = await page.content()
        for private in (email, "Rosa", project_id, try_id):
            assert private not in html, f"the public page gives away {private!r}"
        await screenshot(page, "journey-public-video")
