"""How many live event streams can one API process hold, and how fast do events reach them?

    python -m bench.sse [--clients 500] [--rate 100] [--seconds 10] [--bursts 5]

Starts one API process (uvicorn, as deployed) and opens ``--clients`` concurrent
``GET /api/events`` streams to it, each as a different free-try visitor (a signed visitor
cookie: the session lookup a signed-in user costs happens once per connection and does not
change what is measured here). Then:

- memory: the API process's resident memory before the streams open and once all of them
  are live, divided by the number of streams;
- Redis: the connections the API holds for the streams (its event hub's, by client name);
- latency, publish to receive: the time from just before a worker-style ``publish()`` to
  the moment the client has parsed that event, in two loads: ``steady`` (``--rate`` events
  a second for ``--seconds``, each to a random stream) and ``burst`` (``--bursts`` rounds of
  one event to every stream at once). Target: p99 < 200 ms;
- clean-up: that closing every stream leaves the hub with no listener and no extra Redis
  connection.

The client side runs in this process, so its parsing is inside the measured latency (a
conservative figure on a 2-core machine that hosts client, API and Redis together).
Services: ``REDIS_URL`` / ``DATABASE_URL`` when set, else embedded ones in a temporary
directory. Writes ``bench/results/sse.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from redis.asyncio import Redis

from api.db import models as m
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.events import ClipStatusEvent, publish, visitor_owner
from api.security.keys import Keys
from bench.common import write_results

NAME = "sse"
SECRET_KEY = "bench-sse-secret-" + "k" * 32
TARGET_P99_MS = 200.0
DELIVERY_DEADLINE_SECONDS = 10.0


@dataclass
class Collector:
    """Publish times by clip id, and what each stream received."""

    sent_at: dict[str, float] = field(default_factory=dict)
    latencies: dict[str, float] = field(default_factory=dict)
    live: int = 0
    all_live: asyncio.Event = field(default_factory=asyncio.Event)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    errors: list[str] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def _summary(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p90_ms": round(_percentile(ms, 90), 2),
        "p99_ms": round(_percentile(ms, 99), 2),
        "max_ms": round(max(ms), 2),
    }


@contextlib.contextmanager
def services(workdir: Path) -> Iterator[tuple[str, str]]:
    """(database_url, redis_url): from the environment, or embedded for this run."""
    with contextlib.ExitStack() as stack:
        redis_url = os.environ.get("REDIS_URL")
        database_url = os.environ.get("DATABASE_URL")
        if not redis_url or not database_url:
            from devstack.services import EmbeddedPostgres, EmbeddedRedis

            if not redis_url:
                redis_url = stack.enter_context(EmbeddedRedis(workdir / "redis", durable=False)).url
            if not database_url:
                database_url = stack.enter_context(EmbeddedPostgres(workdir / "postgres", durable=False)).url
        yield database_url, redis_url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_until_serving(base: str, api: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        for _ in range(300):
            if api.poll() is not None:
                raise RuntimeError(f"the API exited with {api.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/api/push/key")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError("the API did not start within 30 s")


async def _stream(port: int, cookie: str, collector: Collector, total: int) -> None:
    """One browser: count itself live at the opening ``id:`` line, then time every event.

    A bare HTTP/1.1 client on asyncio streams (each event arrives as one chunk of the
    chunked body): a browser is a machine of its own, so the client's parsing should cost
    this shared CPU as little as possible.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {VISITOR_COOKIE}={cookie}\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b" ", 2)[1]
        if status != b"200" or b"chunked" not in head.lower():
            collector.errors.append(f"HTTP {status.decode()}")
            return
        counted = False
        while True:
            size = int((await reader.readline()).strip() or b"0", 16)
            if size == 0:
                return
            chunk = await reader.readexactly(size + 2)
            if not counted and chunk.startswith(b"id: "):
                counted = True
                collector.live += 1
                if collector.live == total:
                    collector.all_live.set()
            at = chunk.find(b"\ndata: ")
            if at >= 0:
                clip_id = json.loads(chunk[at + 7 : chunk.index(b"\n", at + 1)])["clipId"]
                sent = collector.sent_at.get(clip_id)
                if sent is not None:
                    collector.latencies[clip_id] = time.perf_counter() - sent
                    collector.arrived.set()
    except (OSError, asyncio.IncompleteReadError) as exc:
        collector.errors.append(type(exc).__name__)
    finally:
        writer.close()


async def _publish_one(redis: Redis, owner: str, prefix: str, collector: Collector) -> str:
    clip_id = uuid.uuid4()
    event = ClipStatusEvent(clip_id=clip_id, project_id=None, status=m.ClipStatus.GENERATING, progress=0.5)
    collector.sent_at[str(clip_id)] = time.perf_counter()
    await publish(redis, owner, event, prefix=prefix)
    return str(clip_id)


async def _lost(collector: Collector, ids: list[str]) -> list[str]:
    """The ids of ``ids`` not received within :data:`DELIVERY_DEADLINE_SECONDS`."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DELIVERY_DEADLINE_SECONDS):
            while True:
                collector.arrived.clear()
                if all(i in collector.latencies for i in ids):
                    break
                await collector.arrived.wait()
    return [i for i in ids if i not in collector.latencies]


async def _hub_connections(redis: Redis, prefix: str) -> int:
    return sum(1 for c in await redis.client_list() if c.get("name") == f"{prefix}echoes-events")


def start_api(database_url: str, redis_url: str, workdir: Path) -> tuple[subprocess.Popen[bytes], int, str]:
    """One API process as deployed (uvicorn); returns it, its port and its key prefix."""
    prefix = f"bench-{secrets.token_hex(3)}-"
    port = _free_port()
    env = {
        **os.environ,
        "ECHOES_ENV": "development",
        "ECHOES_VAR_DIR": str(workdir / "var"),
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "QUEUE_PREFIX": prefix,
        "LOG_LEVEL": "WARNING",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "3"],
        env=env,
    )
    return api, port, prefix


async def run(
    args: argparse.Namespace, api: subprocess.Popen[bytes], port: int, prefix: str, redis_url: str
) -> dict[str, object]:
    base = f"http://127.0.0.1:{port}"
    redis = Redis.from_url(redis_url, max_connections=64)
    identity = VisitorIdentity(Keys.derive(SECRET_KEY), secure_cookie=False)
    visitors = [uuid.uuid4() for _ in range(args.clients)]
    owners = [visitor_owner(v) for v in visitors]
    try:
        await _wait_until_serving(base, api)
        process = psutil.Process(api.pid)
        warm = Collector()
        warm_tasks = [asyncio.create_task(_stream(port, identity.cookie_value(v), warm, 5)) for v in visitors[:5]]
        await asyncio.wait_for(warm.all_live.wait(), 30)
        warm_ids = [await _publish_one(redis, visitor_owner(v), prefix, warm) for v in visitors[:5]]
        await _lost(warm, warm_ids)
        for task in warm_tasks:
            task.cancel()
        await asyncio.gather(*warm_tasks, return_exceptions=True)
        await asyncio.sleep(1.0)
        rss_before = process.memory_info().rss
        redis_before = await _hub_connections(redis, prefix)

        collector = Collector()
        opened = time.perf_counter()
        tasks = [
            asyncio.create_task(_stream(port, identity.cookie_value(v), collector, args.clients))
            for v in visitors
        ]
        await asyncio.wait_for(collector.all_live.wait(), 120)
        connect_seconds = time.perf_counter() - opened
        await asyncio.sleep(1.0)
        rss_live = process.memory_info().rss
        redis_live = await _hub_connections(redis, prefix)

        steady_ids: list[str] = []
        rng = random.Random(1)
        interval = 1.0 / args.rate
        next_at = time.perf_counter()
        ends_at = next_at + args.seconds
        while next_at < ends_at:
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            steady_ids.append(await _publish_one(redis, rng.choice(owners), prefix, collector))
            next_at += interval
        steady_lost = await _lost(collector, steady_ids)

        burst_ids: list[str] = []
        burst_lost: list[str] = []
        for _ in range(args.bursts):
            round_ids = await asyncio.gather(*(_publish_one(redis, o, prefix, collector) for o in owners))
            burst_lost += await _lost(collector, list(round_ids))
            burst_ids += round_ids
            await asyncio.sleep(0.5)

        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(2.0)
        rss_after = process.memory_info().rss
        redis_after = await _hub_connections(redis, prefix)
    finally:
        async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
            await redis.delete(key)
        await redis.aclose()

    steady = _summary([collector.latencies[i] for i in steady_ids if i in collector.latencies])
    burst = _summary([collector.latencies[i] for i in burst_ids if i in collector.latencies])
    return {
        "clients": args.clients,
        "connect_all_seconds": round(connect_seconds, 2),
        "api_rss_mb": {
            "before": round(rss_before / 2**20, 1),
            "with_streams": round(rss_live / 2**20, 1),
            "after_close": round(rss_after / 2**20, 1),
        },
        "memory_per_connection_kb": round((rss_live - rss_before) / args.clients / 1024, 1),
        "redis_connections_for_streams": {"before": redis_before, "with_streams": redis_live, "after_close": redis_after},
        "steady": {"rate_per_s": args.rate, "seconds": args.seconds, **steady, "lost": len(steady_lost)},
        "burst": {"rounds": args.bursts, "events_per_round": args.clients, **burst, "lost": len(burst_lost)},
        "client_errors": collector.errors[:10],
        "target_p99_ms": TARGET_P99_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in the steady phase")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--bursts", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="echoes-bench-sse-") as tmp, services(Path(tmp)) as (db, rds):
        api, port, prefix = start_api(db, rds, Path(tmp))
        try:
            results = asyncio.run(run(args, api, port, prefix, rds))
        finally:
            api.terminate()
            try:
                api.wait(timeout=15)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait()
    rss = results["api_rss_mb"]
    print(f"{results['clients']} SSE clients on one API process (connected in {results['connect_all_seconds']} s)")
    print(f"  API memory: {rss['before']} MB -> {rss['with_streams']} MB with streams "  # type: ignore[index]
          f"({results['memory_per_connection_kb']} KB per connection), {rss['after_close']} MB after closing")  # type: ignore[index]
    print(f"  Redis connections for streams: {results['redis_connections_for_streams']}")
    for phase in ("steady", "burst"):
        r = results[phase]
        print(f"  {phase:6} publish->receive: n={r['count']} p50 {r['p50_ms']} ms, p90 {r['p90_ms']} ms, "  # type: ignore[index]
              f"p99 {r['p99_ms']} ms, max {r['max_ms']} ms, lost {r['lost']}")  # type: ignore[index]
    if results["client_errors"]:
        print(f"  client errors: {results['client_errors']}")
    path = write_results(NAME, results)
    print(f"  -> {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
