"""API problems reach people as sentences they can act on: when to come back, why a file
was refused, and where to buy the credits that are missing."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.e2e.web.conftest import WebStack, open_context, screenshot
from tests.paths import PHOTOS

pytestmark = pytest.mark.e2e


async def test_a_second_free_try_says_when_to_come_back_and_offers_an_account(
    browser: Browser, web_stack: WebStack
) -> None:
    async with open_context(browser, web_stack) as context:
        page = await context.new_page()
        await page.goto("/")
        await page.locator("[data-testid=free-try] input[type=file]").set_input_files(
            PHOTOS / "coffee.jpg"
        )
        await page.get_by_role("button", name="Bring it to life").click()
        ready = page.get_by_test_id("free-try-ready")
        await expect(ready).to_be_visible(timeout=60_000)

        await ready.get_by_role("button", name="Try a different photo").click()
        await page.locator("[data-testid=free-try] input[type=file]").set_input_files(
            PHOTOS / "chelsea.jpg"
        )
        await page.get_by_role("button", name="Bring it to life").click()
        alert = page.get_by_test_id("free-try").get_by_role("alert")
        await expect(alert).to_contain_text("You have already made your free clip")
        await expect(alert).to_contain_text(re.compile(r"You can try again at \d{1,2}:\d{2}"))
        await expect(page.get_by_role("link", name="Sign up to make more clips")).to_be_visible()
        await expect(page.get_by_role("button", name="Try again")).to_have_count(0)
        await screenshot(page, "problem-free-try-used")


async def test_the_editor_explains_refused_files_and_missing_credits(
    browser: Browser, web_stack: WebStack
) -> None:
    async with httpx.AsyncClient(base_url=web_stack.web_url, timeout=30) as client:
        token = (await client.get("/api/auth/csrf")).json()["token"]
        client.headers["x-csrf-token"] = token
        email = f"problems-{uuid.uuid4().hex[:10]}@example.com"
        assert (
            await client.post(
                "/api/auth/signup", json={"email": email, "password": "a long enough password"}
            )
        ).status_code == 201
        project = (await client.post("/api/projects", json={"title": "Odds and ends"})).json()
        cookies = [
            {"name": name, "value": value, "url": web_stack.web_url}
            for name, value in client.cookies.items()
        ]

    async with open_context(browser, web_stack) as context:
        await context.add_cookies(cookies)
        page = await context.new_page()
        await page.goto(f"/projects/{project['id']}")
        await page.locator("[data-testid=photo-uploader][data-ready=true]").wait_for()
        await page.get_by_label("Add photos").set_input_files(
            [PHOTOS / "bad_tiny.jpg", PHOTOS / "astronaut.jpg", PHOTOS / "hubble.jpg"]
        )

        refused = page.locator("[data-testid=upload-row][data-state=refused]")
        await expect(refused).to_have_count(1, timeout=30_000)
        await expect(refused).to_contain_text("bad_tiny.jpg")
        await expect(refused).to_contain_text("This photo is only 16×16 pixels")
        await expect(page.get_by_test_id("clip-card")).to_have_count(2)

        # Two photos, no credits (the sign-up gift waits for a verified address): the way on is
        # buying credits, not a failed request.
        bar = page.get_by_test_id("generate-bar")
        await expect(bar).to_contain_text(
            "2 photos ready to animate. This uses 2 credits; you have 0. You need 2 more."
        )
        await expect(bar.get_by_role("link", name="Buy credits")).to_have_attribute(
            "href", "/credits"
        )
        await expect(page.get_by_test_id("generate-clips")).to_have_count(0)
        await screenshot(page, "problem-editor")
