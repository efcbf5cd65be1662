"""Separate browsers on one running app: each its own cookie jar, User-Agent and address.

The app runs in the test's own event loop (``running_app``), and each browser talks to it
through httpx's ASGI transport with a client address of its choosing, so per-address limits
and "another device" can be tested without mocking anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
from litestar import Litestar

from api.app import create_app
from api.config import Settings
from tests.integration.helpers import CSRF_HEADER, PASSWORD

FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[Litestar]:
    """The app with its lifespan running in a task of its own (a fixture's setup and teardown
    run in different tasks, and the lifespan's cancel scopes must enter and exit in one)."""
    app = create_app(settings)
    started, stop = asyncio.Event(), asyncio.Event()

    async def serve() -> None:
        async with app.lifespan():
            started.set()
            await stop.wait()

    task = asyncio.create_task(serve())
    await asyncio.wait([task, asyncio.create_task(started.wait())], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
    try:
        yield app
    finally:
        stop.set()
        await task


def browser(app: Litestar, *, ip: str = "198.51.100.7", user_agent: str = SAFARI_MAC) -> httpx.AsyncClient:
    """A new browser talking to ``app`` from ``ip``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=cast(Any, app), client=(ip, 50000)),
        base_url="http://testserver.local",
        headers={"user-agent": user_agent},
    )


async def csrf(browser: httpx.AsyncClient) -> str:
    """Fetch the CSRF token (setting its cookie) and send it on every later request."""
    token: str = (await browser.get("/api/auth/csrf")).json()["token"]
    browser.headers[CSRF_HEADER] = token
    return token


async def log_in(browser: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    if CSRF_HEADER not in browser.headers:
        await csrf(browser)
    return await browser.post("/api/auth/login", json={"email": email, "password": password})


async def sign_up(browser: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    if CSRF_HEADER not in browser.headers:
        await csrf(browser)
    response = await browser.post("/api/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response
