"""The production shape as plain processes: what docker-compose.yml runs, without Docker.

``ECHOES_ENV=production`` with every secret set; real Postgres and Redis (CI's, or embedded);
SeaweedFS as the object store; the migrator; **two API processes** and **two worker pools**
(one serving ``clips``, one ``renders`` and ``default``). Each step goes through a different
API process than the one before, so nothing may live in one process: sessions, CSRF, limits,
events and media all have to be shared. ``make prod-shape`` runs this file alone.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from api.config import load_or_create_vapid_key
from api.domain.accounts.auth import CSRF_HEADER
from devstack.services import EmbeddedSeaweedFS, S3Credentials, free_port
from tests.paths import MUSIC_CACHE, PHOTOS, REPO_ROOT

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


class Browser:
    """An HTTP client that keeps cookies like a browser on https would (production cookies
    are ``Secure``; these servers speak plain http on loopback) and sends the CSRF header."""

    def __init__(self) -> None:
        self.cookies: dict[str, str] = {}
        self.csrf: str | None = None
        self.client = httpx.AsyncClient(timeout=30)

    def _remember(self, response: httpx.Response) -> None:
        for header in response.headers.get_list("set-cookie"):
            pair, *attributes = header.split(";")
            name, _, value = pair.strip().partition("=")
            expired = any(a.strip().lower() in ("max-age=0", "max-age=-1") for a in attributes)
            if expired or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.csrf:
            headers[CSRF_HEADER] = self.csrf
        return headers

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.request(method, url, headers=self._headers(kwargs.pop("headers", None)), **kwargs)
        self._remember(response)
        return response

    async def stream_lines(self, url: str) -> AsyncIterator[str]:
        async with self.client.stream("GET", url, headers=self._headers(), timeout=None) as response:
            assert response.status_code == 200, await response.aread()
            async for line in response.aiter_lines():
                yield line


@dataclass
class Shape:
    env: dict[str, str]
    database_url: str
    store: EmbeddedSeaweedFS
    var_dir: Path
    apis: list[str] = field(default_factory=list)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: Path | None = None

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        assert self.logs is not None
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, *argv], cwd=REPO_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def output(self) -> str:
        assert self.logs is not None
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log")))


async def _api_command(env: dict[str, str], *args: str) -> tuple[int, str]:
    """``python -m api …`` as the operator runs it (the migrator, promote-admin)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "api", *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode(errors="replace")


async def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{url} did not come up")
            await asyncio.sleep(0.2)


async def _until(probe: Any, timeout: float = 180, interval: float = 0.3) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not reached within {timeout}s: {result!r}")
        await asyncio.sleep(interval)


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedSeaweedFS]:
    credentials = S3Credentials(access_key_id="echoes" + secrets.token_hex(4), secret_access_key=secrets.token_urlsafe(24))
    with EmbeddedSeaweedFS(tmp_path_factory.mktemp("seaweed"), credentials=credentials, durable=False) as store:
        yield store


@pytest.fixture
async def shape(
    postgres_server_url: str, redis_url: str, seaweed: EmbeddedSeaweedFS, tmp_path: Path
) -> AsyncIterator[Shape]:
    name = f"echoes_prod_{uuid.uuid4().hex[:8]}"
    base = postgres_server_url.rpartition("/")[0]
    admin = await asyncpg.connect(f"{base}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DATABASE", "REDIS"))}
    env |= {
        "ECHOES_ENV": "production",
        "ECHOES_VAR_DIR": str(var_dir),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"{base}/{name}",
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": f"prod-{uuid.uuid4().hex[:6]}-",
        "PUBLIC_URL": "https://echoes.example.com",
        "STRIPE_SECRET_KEY": "sk_test_" + secrets.token_hex(8),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_hex(16),
        "VAPID_PRIVATE_KEY": load_or_create_vapid_key(tmp_path / "vapid.pem").replace("\n", "\\n"),
        "VAPID_SUBJECT": "mailto:ops@example.com",
        "METRICS_TOKEN": secrets.token_urlsafe(24),
        "MUSIC_LIBRARY_DIR": str(MUSIC_CACHE),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "FREE_TRY_PER_IP": "1000",
        "WORKER_SWEEP_SECONDS": "1",
        "RENDER_JOB_HEARTBEAT_SECONDS": "3",
        "WORKER_RENDERS_CONCURRENCY": "1",
        "LOG_LEVEL": "INFO",
        **seaweed.environment(),
    }
    running = Shape(env=env, database_url=env["DATABASE_URL"], store=seaweed, var_dir=var_dir, logs=tmp_path)
    try:
        for step in ("migrate", "seed-music"):
            code, out = await _api_command(env, step)
            assert code == 0, out
        for index in (1, 2):
            port = free_port()
            running.start(f"api{index}", "-m", "api", "serve", "--port", str(port))
            running.apis.append(f"http://127.0.0.1:{port}")
        running.start("worker-clips", "-m", "worker", "--queues", "clips")
        running.start("worker-renders", "-m", "worker", "--queues", "renders,default")
        for api in running.apis:
            await _wait_http(f"{api}/api/ready")
        yield running
    except BaseException:
        print(running.output())
        raise
    finally:
        for proc_name in list(running.procs):
            running.kill(proc_name)
        admin = await asyncpg.connect(f"{base}/postgres")
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _store_keys(store: EmbeddedSeaweedFS) -> set[str]:
    from api.storage import open_storage
    from tests.conftest import make_settings

    settings = make_settings(database_url="postgresql://unused/x", redis_url="redis://unused", queue_prefix="",
                             var_dir=Path("/tmp"), **store.environment())
    storage = open_storage(settings)
    return {key async for key in storage.list_keys("")}


async def test_the_production_shape_serves_everyone_from_any_replica(shape: Shape) -> None:
    api1, api2 = shape.apis
    person = Browser()

    # Log in through API 1, act through API 2: sessions and CSRF are shared.
    person.csrf = (await person.request("GET", f"{api1}/api/auth/csrf")).json()["token"]
    email = f"prod-{uuid.uuid4().hex[:8]}@example.com"
    signed_up = await person.request("POST", f"{api1}/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signed_up.status_code == 201, signed_up.text
    user_id = signed_up.json()["user"]["id"]
    assert "authorization" not in {k.lower() for k in signed_up.headers}
    me = await person.request("GET", f"{api2}/api/me")
    assert me.status_code == 200 and me.json()["email"] == email

    # An admin top-up (the promote-admin command, then the admin API on the other replica).
    code, out = await _api_command(shape.env, "promote-admin", email)
    assert code == 0, out
    topped = await person.request("POST", f"{api1}/api/admin/users/{user_id}/credits",
                                  json={"amount": 3, "reason": "production-shape test"})
    assert topped.status_code == 201, topped.text

    # A browser-style SSE client on API 2 hears about clips that the clips worker makes.
    heard: list[str] = []

    async def listen() -> None:
        async for line in person.stream_lines(f"{api2}/api/events"):
            heard.append(line)

    listener = asyncio.create_task(listen())
    try:
        project = await person.request("POST", f"{api1}/api/projects", json={"title": "Prod shape", "aspect": "16:9"})
        assert project.status_code == 201, project.text
        base = f"/api/projects/{project.json()['id']}"
        names = ("coffee.jpg", "rocket.jpg", "chelsea.jpg")
        files = [("photos", (n, (PHOTOS / n).read_bytes(), "application/octet-stream")) for n in names]
        uploaded = await person.request("POST", f"{api2}{base}/photos", files=files)
        assert uploaded.status_code in (200, 201), uploaded.text
        assert (await person.request("POST", f"{api1}{base}/generate")).status_code == 202

        async def clips_ready() -> dict[str, Any] | None:
            body = (await person.request("GET", f"{api2}{base}")).json()
            return body if all(c["status"] == "succeeded" for c in body["clips"]) else None

        body = await _until(clips_ready)
        clip_ids = {c["id"] for c in body["clips"]}
        async def heard_every_clip() -> bool:
            return _heard_all(heard, clip_ids)

        await _until(heard_every_clip, timeout=30)
    finally:
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)

    # Media is served by presigned URLs straight from the store, never by the API.
    video_url = body["clips"][0]["videoUrl"]
    assert video_url.startswith(shape.store.url), video_url
    async with httpx.AsyncClient() as raw:
        ranged = await raw.get(video_url, headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100

    # Render, and SIGKILL the renders worker mid-render: a new one finishes it, once.
    started = await person.request("POST", f"{api2}{base}/render")
    assert started.status_code == 202, started.text
    render_id = started.json()["id"]

    async def rendering() -> bool:
        return (await person.request("GET", f"{api1}/api/renders/{render_id}")).json()["status"] == "rendering"

    await _until(rendering, timeout=120, interval=0.05)
    shape.kill("worker-renders")
    shape.start("worker-renders", "-m", "worker", "--queues", "renders,default")

    async def render_done() -> dict[str, Any] | None:
        render = (await person.request("GET", f"{api1}/api/renders/{render_id}")).json()
        return render if render["status"] in ("succeeded", "failed", "cancelled") else None

    render = await _until(render_done, timeout=240)
    assert render["status"] == "succeeded", render
    balance = (await person.request("GET", f"{api2}/api/me")).json()["creditBalance"]
    assert balance == 0, "three clips cost three credits, and nothing was charged twice"
    renders = (await person.request("GET", f"{api2}{base}/renders")).json()["items"]
    assert [r["id"] for r in renders] == [render_id]

    # A free try from another browser, through the other replica.
    visitor = Browser()
    photo = PHOTOS / "astronaut.jpg"
    tried = await visitor.request("POST", f"{api2}/api/try",
                                  files={"photo": (photo.name, photo.read_bytes(), "image/jpeg")})
    assert tried.status_code == 202, tried.text

    async def try_done() -> dict[str, Any] | None:
        got = (await visitor.request("GET", f"{api1}/api/try/{tried.json()['id']}")).json()
        return got if got["status"] in ("succeeded", "failed") else None

    assert (await _until(try_done))["status"] == "succeeded"

    # Everything is in the store and nothing on local disk; no object without its row.
    local_media = [p for p in shape.var_dir.rglob("*") if p.is_file() and p.suffix in (".mp4", ".jpg", ".m4a")]
    assert local_media == []
    keys = await _store_keys(shape.store)
    rows = await _referenced_keys(shape.database_url)
    assert rows <= keys, "every stored key a row names exists"
    orphans = {k for k in keys - rows if not k.startswith("music/builtin-")}
    assert orphans == set(), f"objects no row points to: {sorted(orphans)[:5]}"


def _heard_all(lines: list[str], clip_ids: set[str]) -> bool:
    text = "\n".join(lines)
    return all(clip_id in text for clip_id in clip_ids) and "clip.status" in text


async def _referenced_keys(database_url: str) -> set[str]:
    from api.domain.privacy.media import MEDIA_REFERENCES

    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        found: set[str] = set()
        for attribute in MEDIA_REFERENCES:
            column = attribute.property.columns[0]
            table, name = column.table.name, column.name
            found |= {r[0] for r in await conn.fetch(f'SELECT "{name}" FROM "{table}" WHERE "{name}" IS NOT NULL')}
        return found
    finally:
        await conn.close()
