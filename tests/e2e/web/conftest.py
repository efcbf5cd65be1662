"""The web app end to end: one real stack for the whole session, driven by Debian's Chromium.

The stack is started the way `make run` starts it (the devstack supervisor: embedded
Postgres and Redis, migrations, the music library, API, worker and the production build of
the web app), on free ports, with DATABASE_URL and REDIS_URL removed from the environment.
Playwright (Python) drives /usr/bin/chromium; it never downloads a browser.

Screenshots land in tests/artifacts/screenshots/ (gitignored), named `<page>-<phone|desktop>.png`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    # Video players start muted here, but no user gesture precedes autoplay in a test.
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
SCREENSHOTS = REPO_ROOT / "tests" / "artifacts" / "screenshots"
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The built-in music library is deterministic; it is generated once and shared by test runs
#: (the same cache as tests/integration/renders), instead of on every stack start.
MUSIC_CACHE = REPO_ROOT / ".cache" / "music"
STACK_READY_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WebStack:
    web_url: str
    var_dir: Path
    output: list[str] = field(default_factory=list)

    def tail(self, lines: int = 60) -> str:
        return "".join(self.output[-lines:])


def _prepare_music(var_dir: Path) -> None:
    """Fills the stack's music folder from the shared cache, building the cache if needed."""
    from assembly.musicgen.library import build_library

    MUSIC_CACHE.mkdir(parents=True, exist_ok=True)
    with open(MUSIC_CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_library(MUSIC_CACHE)
        shutil.copytree(MUSIC_CACHE, var_dir / "music", ignore=shutil.ignore_patterns(".lock"))


@pytest.fixture(scope="session")
async def web_stack() -> AsyncIterator[WebStack]:
    if not (REPO_ROOT / "web" / ".next" / "BUILD_ID").exists():
        pytest.fail("the web app is not built: run `make test` (it builds it) or `npm run build`")
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's Chromium (`apt-get install -y chromium`)"
        )
    with tempfile.TemporaryDirectory(prefix="echoes-web-e2e-") as tmp:
        var_dir = Path(tmp) / "var"
        var_dir.mkdir()
        await asyncio.to_thread(_prepare_music, var_dir)
        web_port = _free_port()
        web_url = f"http://127.0.0.1:{web_port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            {
                # Checkout's return pages, the demo checkout and share links point here.
                "PUBLIC_URL": web_url,
                # Every test is the same visitor address; the per-visitor limit still applies.
                "FREE_TRY_PER_IP": "200",
                "RATE_LIMIT_START_FREE_TRY_PER_HOUR": "200",
                "SIGNUP_LIMIT_PER_HOUR": "200",
                "LOGIN_LIMIT_PER_15MIN": "200",
                "SSE_HEARTBEAT_SECONDS": "5",
            }
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "devstack",
            "run",
            "--var-dir",
            str(var_dir),
            "--pg-port",
            str(_free_port()),
            "--redis-port",
            str(_free_port()),
            "--api-port",
            str(_free_port()),
            "--web-port",
            str(web_port),
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        stack = WebStack(web_url=web_url, var_dir=var_dir)
        assert proc.stdout is not None

        async def wait_ready() -> None:
            while line := await proc.stdout.readline():
                stack.output.append(line.decode(errors="replace"))
                if "Echoes is running" in stack.output[-1]:
                    return
            raise AssertionError("the stack exited before it was ready:\n" + stack.tail())

        async def drain() -> None:
            while line := await proc.stdout.readline():
                stack.output.append(line.decode(errors="replace"))

        drainer: asyncio.Task[None] | None = None
        try:
            await asyncio.wait_for(wait_ready(), timeout=STACK_READY_TIMEOUT)
            drainer = asyncio.create_task(drain())
            yield stack
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=60)
                except TimeoutError:
                    os.killpg(proc.pid, signal.SIGKILL)
                    raise
            if drainer is not None:
                await drainer


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@contextlib.asynccontextmanager
async def open_context(
    browser: Browser, stack: WebStack, *, viewport: dict[str, int] = PHONE, **options: object
) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (its own cookies, caches and service worker) on the stack."""
    context = await browser.new_context(
        base_url=stack.web_url,
        viewport=viewport,
        device_scale_factor=1,
        locale="en-GB",
        timezone_id="Europe/London",
        accept_downloads=True,
        **options,  # type: ignore[arg-type]
    )
    context.set_default_timeout(20_000)
    try:
        yield context
    finally:
        await context.close()


@pytest.fixture
async def phone(browser: Browser, web_stack: WebStack) -> AsyncIterator[Page]:
    """A page in a fresh phone-sized (390×844) profile."""
    async with open_context(browser, web_stack, viewport=PHONE) as context:
        page = await context.new_page()
        yield page


async def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Saves a screenshot (the whole page, or what is on screen for dialogs) as
    tests/artifacts/screenshots/<name>-<phone|desktop>.png."""
    size = "phone" if (page.viewport_size or PHONE)["width"] < 800 else "desktop"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{size}.png"
    await page.screenshot(path=str(path), full_page=full_page, animations="disabled")
    return path


async def axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one readable line each."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE_SCRIPT))
    result = await page.evaluate(
        """async () => {
            const { violations } = await axe.run(document, { resultTypes: ["violations"] });
            return violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`);
        }"""
    )
    return list(result)
