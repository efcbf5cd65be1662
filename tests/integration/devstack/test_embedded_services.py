"""The embedded Postgres and Redis behind ``make run`` and the tests, and the supervisor.

Real servers from the wheels, on free ports, in temporary directories.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import psutil
import pytest
from redis import Redis

from api.config import S3Settings
from api.storage import S3Storage
from devstack.services import (
    POSTGRES_SYSTEM_USER,
    AlreadyRunningError,
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedSeaweedFS,
    PortInUseError,
    S3Credentials,
    free_port,
)
from tests.paths import REPO_ROOT


def _process_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    alive = []
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
    return alive


@pytest.fixture
def server_dir() -> Iterator[Path]:
    """A fresh directory for server data, outside pytest's basetemp.

    As root, Postgres runs as another user that must be able to traverse every parent
    directory, and each new pytest session resets ``/tmp/pytest-of-root`` to mode 0700 -
    which cuts off a running server whenever two sessions overlap.
    """
    with tempfile.TemporaryDirectory(prefix="echoes-devstack-") as tmp:
        yield Path(tmp)


@pytest.fixture
def listening_socket() -> Iterator[socket.socket]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock


async def test_postgres_keeps_data_across_restarts_and_stop_leaves_no_process(
    server_dir: Path,
) -> None:
    pg = EmbeddedPostgres(server_dir / "postgres")
    assert pg.start() == f"postgresql://postgres@127.0.0.1:{pg.port}/postgres"
    url = pg.create_database("echoes_demo")
    assert url == f"postgresql://postgres@127.0.0.1:{pg.port}/echoes_demo"
    conn = await asyncpg.connect(url)
    await conn.execute("CREATE TABLE memory (note text)")
    await conn.execute("INSERT INTO memory VALUES ('grandma, 1952')")
    await conn.close()
    assert pg.pid is not None
    tree = _process_tree(pg.pid)
    assert len(tree) > 1, "postmaster should have its background processes"
    pg.stop()
    assert _alive(tree) == []
    assert pg.pid is None

    with EmbeddedPostgres(server_dir / "postgres") as again:
        assert again.create_database("echoes_demo") == again.database_url("echoes_demo")
        conn = await asyncpg.connect(again.database_url("echoes_demo"))
        assert await conn.fetchval("SELECT note FROM memory") == "grandma, 1952"
        assert await conn.fetchval("SHOW fsync") == "on"
        assert await conn.fetchval("SHOW server_encoding") == "UTF8"
        await conn.close()


async def test_throwaway_postgres_runs_without_fsync(server_dir: Path) -> None:
    with EmbeddedPostgres(server_dir / "pg", durable=False) as pg:
        conn = await asyncpg.connect(pg.url)
        assert await conn.fetchval("SHOW fsync") == "off"
        await conn.close()


async def test_postgres_unix_socket_moves_to_a_short_temp_dir_when_the_path_is_too_long(
    server_dir: Path,
) -> None:
    deep = server_dir / ("d" * 60) / ("e" * 60)
    with EmbeddedPostgres(deep / "pg", durable=False) as pg:
        assert pg.socket_dir is not None
        socket_dir = pg.socket_dir
        assert not socket_dir.is_relative_to(server_dir)
        conn = await asyncpg.connect(host=str(socket_dir), port=pg.port, user="postgres")
        assert await conn.fetchval("SELECT 1") == 1
        await conn.close()
    assert not socket_dir.exists()


def test_postgres_create_database_rejects_names_that_need_quoting(server_dir: Path) -> None:
    with EmbeddedPostgres(server_dir / "pg", durable=False) as pg:
        with pytest.raises(ValueError, match="database name"):
            pg.create_database('x"; DROP DATABASE postgres; --')


async def test_postgres_recovers_after_its_postmaster_was_killed_and_a_backend_hangs(
    server_dir: Path,
) -> None:
    data = server_dir / "pg"
    first = EmbeddedPostgres(data)
    first.start()
    try:
        conn = await asyncpg.connect(first.url)
        await conn.execute("CREATE TABLE survived (n int); INSERT INTO survived VALUES (7)")
        await conn.close()
        assert first.pid is not None
        postmaster = psutil.Process(first.pid)
        hung = [p for p in postmaster.children() if "checkpointer" in _cmdline(p)]
        assert len(hung) == 1
        hung[0].suspend()
        postmaster.kill()
        postmaster.wait(timeout=5)
        assert (data / "postmaster.pid").exists(), "a killed postmaster leaves its pid file"

        with EmbeddedPostgres(data) as second:
            conn = await asyncpg.connect(second.url)
            assert await conn.fetchval("SELECT n FROM survived") == 7
            await conn.close()
        assert _alive(hung) == [], "leftovers of the killed server must be gone"
    finally:
        first.stop()


def test_postgres_starts_when_the_stale_pid_now_belongs_to_another_process(
    server_dir: Path,
) -> None:
    data = server_dir / "pg"
    with EmbeddedPostgres(data, durable=False):
        pass
    # Postgres itself ignores a pid it may not signal, so the reused pid must belong to the
    # user Postgres runs as for the stale file to matter.
    same_user = POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None
    bystander = subprocess.Popen(["sleep", "60"], user=same_user)
    try:
        (data / "postmaster.pid").write_text(f"{bystander.pid}\n{data}\n0\n5432\n\n\n\nready\n")
        with EmbeddedPostgres(data, durable=False) as pg:
            assert pg.psql("SELECT 40 + 2").strip() == "42"
        assert bystander.poll() is None, "an unrelated process must not be touched"
    finally:
        bystander.kill()
        bystander.wait()


def test_second_postgres_on_the_same_data_dir_is_refused(server_dir: Path) -> None:
    with EmbeddedPostgres(server_dir / "pg", durable=False) as running:
        with pytest.raises(AlreadyRunningError, match=r"still running") as refused:
            EmbeddedPostgres(server_dir / "pg", durable=False).start()
        assert refused.value.pid == running.pid
        assert running.psql("SELECT 1").strip() == "1"


def test_postgres_on_a_busy_port_fails_clearly(
    server_dir: Path, listening_socket: socket.socket
) -> None:
    port = listening_socket.getsockname()[1]
    pg = EmbeddedPostgres(server_dir / "pg", port=port, durable=False)
    with pytest.raises(
        PortInUseError, match=rf"port 127\.0\.0\.1:{port} is already in use by pid {os.getpid()}"
    ):
        pg.start()
    assert pg.pid is None


def test_redis_keeps_data_across_restarts_and_stop_leaves_no_process(server_dir: Path) -> None:
    server = EmbeddedRedis(server_dir / "redis")
    assert server.start() == f"redis://127.0.0.1:{server.port}/0"
    with Redis.from_url(server.url) as client:
        client.set("clip:1", "ready")
        client.rpush("queue", "a", "b")
    assert server.pid is not None
    proc = psutil.Process(server.pid)
    server.stop()
    assert _alive([proc]) == []

    with EmbeddedRedis(server_dir / "redis") as again, Redis.from_url(again.url) as client:
        assert client.get("clip:1") == b"ready"
        assert client.lrange("queue", 0, -1) == [b"a", b"b"]


def test_throwaway_redis_forgets_everything_on_restart(server_dir: Path) -> None:
    with (
        EmbeddedRedis(server_dir / "redis", durable=False) as server,
        Redis.from_url(server.url) as client,
    ):
        client.set("k", "v")
    with (
        EmbeddedRedis(server_dir / "redis", durable=False) as server,
        Redis.from_url(server.url) as client,
    ):
        assert client.get("k") is None


def test_second_redis_on_the_same_data_dir_is_refused(server_dir: Path) -> None:
    with EmbeddedRedis(server_dir / "redis") as running:
        with pytest.raises(AlreadyRunningError, match="still running") as refused:
            EmbeddedRedis(server_dir / "redis").start()
        assert refused.value.pid == running.pid


def test_redis_on_a_busy_port_fails_clearly(
    server_dir: Path, listening_socket: socket.socket
) -> None:
    port = listening_socket.getsockname()[1]
    with pytest.raises(PortInUseError, match=rf"Redis: port 127\.0\.0\.1:{port} is already in use"):
        EmbeddedRedis(server_dir / "redis", port=port).start()


def _s3(server: EmbeddedSeaweedFS) -> S3Storage:
    env = server.environment()
    return S3Storage(S3Settings.from_env(env["STORAGE_URL"], env))


async def test_seaweedfs_keeps_objects_across_restarts_and_stop_leaves_no_process(
    server_dir: Path,
) -> None:
    credentials = S3Credentials.load_or_create(server_dir / "s3-credentials.json")
    assert S3Credentials.load_or_create(server_dir / "s3-credentials.json") == credentials
    assert (server_dir / "s3-credentials.json").stat().st_mode & 0o077 == 0
    server = EmbeddedSeaweedFS(server_dir / "seaweedfs", credentials=credentials)
    server.start()
    await _s3(server).put_bytes("clips/kept/clip.mp4", b"frames")
    assert server.pid is not None
    tree = _process_tree(server.pid)
    listening = {c.laddr.port for p in tree for c in p.net_connections() if c.status == psutil.CONN_LISTEN}
    assert server.port in listening and not listening & {8333, 8888, 9333, 9340, 23646, 7333, 8181, 9101}
    server.stop()
    assert _alive(tree) == []

    with EmbeddedSeaweedFS(server_dir / "seaweedfs", credentials=credentials) as again:
        assert await _s3(again).read_bytes("clips/kept/clip.mp4") == b"frames"


def test_second_seaweedfs_on_the_same_data_dir_is_refused(server_dir: Path) -> None:
    credentials = S3Credentials.load_or_create(server_dir / "s3-credentials.json")
    with EmbeddedSeaweedFS(server_dir / "seaweedfs", credentials=credentials) as running:
        with pytest.raises(AlreadyRunningError, match="still running") as refused:
            EmbeddedSeaweedFS(server_dir / "seaweedfs", credentials=credentials).start()
        assert refused.value.pid == running.pid


class _Supervised:
    """``python -m devstack run`` with its output collected line by line."""

    def __init__(self, args: list[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devstack", "run", *args],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "STORAGE_URL")},
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        self.process.wait()
        with self._changed:
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float = 20) -> None:
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(text in line for line in self.lines) or self.process.poll() is not None,
                timeout=timeout,
            )
        assert found and any(text in line for line in self.lines), "\n".join(self.lines)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def _stand_in_args(server_dir: Path, *, worker: str) -> list[str]:
    site = server_dir / "site"
    (site / "api").mkdir(parents=True)
    (site / "api" / "health").write_text("ok")
    migrate = server_dir / "migrate.py"
    migrate.write_text(
        "import asyncio, os, asyncpg, redis\n"
        "async def check(url):\n"
        "    conn = await asyncpg.connect(url)\n"
        "    assert await conn.fetchval('SELECT current_database()') == 'echoes'\n"
        "    await conn.close()\n"
        "asyncio.run(check(os.environ['DATABASE_URL'].replace('+asyncpg', '')))\n"
        "assert redis.Redis.from_url(os.environ['REDIS_URL']).ping()\n"
        "print('migrated', os.environ['ECHOES_VAR_DIR'])\n"
    )
    return [
        "--var-dir",
        str(server_dir / "var"),
        "--pg-port",
        str(free_port()),
        "--redis-port",
        str(free_port()),
        "--api-port",
        str(free_port()),
        "--no-web",
        "--migrate-cmd",
        f"{{python}} {migrate}",
        "--music-cmd",
        "{python} -c \"print('music ready')\"",
        "--api-cmd",
        f"{{python}} -m http.server {{api_port}} --bind 127.0.0.1 --directory {site}",
        "--worker-cmd",
        f'{{python}} -c "{worker}"',
    ]


def test_supervisor_runs_the_stack_and_ctrl_c_stops_everything_in_order(server_dir: Path) -> None:
    run = _Supervised(
        _stand_in_args(server_dir, worker="import time; print('worker ready'); time.sleep(300)")
    )
    try:
        run.wait_for("Echoes is running")
        run.wait_for("worker ready")
        tree = _process_tree(run.process.pid)
        names = " ".join(_cmdline(p) for p in tree)
        assert "postgres -D" in names and "redis-server" in names and "http.server" in names
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=30) == 0, run.output
    finally:
        run.process.kill()
    assert _alive(tree) == []
    assert f"migrated {(server_dir / 'var').resolve()}" in run.output
    stops = [line.split("stopping ", 1)[1] for line in run.lines if "| stopping " in line]
    assert stops == ["worker", "api", "Redis", "Postgres"], run.output
    assert (server_dir / "var" / "postgres" / "PG_VERSION").exists()
    assert (server_dir / "var" / "media").is_dir()
    assert "worker ready" in (server_dir / "var" / "log" / "worker.log").read_text()


def test_supervisor_with_s3_storage_runs_seaweedfs_and_points_the_app_at_it(server_dir: Path) -> None:
    show = "import os, time; print('storage', os.environ['STORAGE_URL'], os.environ['AWS_ACCESS_KEY_ID']); time.sleep(300)"
    s3_port = free_port()
    run = _Supervised([*_stand_in_args(server_dir, worker=show), "--storage", "s3", "--s3-port", str(s3_port)])
    try:
        run.wait_for("Echoes is running")
        run.wait_for("storage s3://")
        tree = _process_tree(run.process.pid)
        assert any(" mini " in _cmdline(p) for p in tree)
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=30) == 0, run.output
    finally:
        run.process.kill()
    assert _alive(tree) == []
    credentials = S3Credentials.load_or_create(server_dir / "var" / "s3-credentials.json")
    assert f"storage s3://echoes?endpoint=http://127.0.0.1:{s3_port}&region=us-east-1 {credentials.access_key_id}" in run.output
    stops = [line.split("stopping ", 1)[1] for line in run.lines if "| stopping " in line]
    assert stops == ["worker", "api", "SeaweedFS", "Redis", "Postgres"], run.output


def test_supervisor_stops_everything_when_a_child_dies(server_dir: Path) -> None:
    crash = "import sys, time; time.sleep(0.3); print('lost the queue'); sys.exit(3)"
    run = _Supervised(_stand_in_args(server_dir, worker=crash))
    try:
        assert run.process.wait(timeout=30) == 1, run.output
    finally:
        run.process.kill()
    assert "worker exited unexpectedly with code 3" in run.output
    assert "    lost the queue" in run.output
    assert "stopping Postgres" in run.output
    leftovers = [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(server_dir) in " ".join(p.info["cmdline"] or [])
    ]
    assert _alive(leftovers) == []


def test_supervisor_stops_everything_when_embedded_postgres_dies(server_dir: Path) -> None:
    run = _Supervised(_stand_in_args(server_dir, worker="import time; time.sleep(300)"))
    try:
        run.wait_for("Echoes is running")
        tree = _process_tree(run.process.pid)
        postmaster = next(p for p in tree if "postgres -D" in _cmdline(p))
        postmaster.kill()
        assert run.process.wait(timeout=30) == 1, run.output
    finally:
        run.process.kill()
    assert "Postgres exited unexpectedly with code -9" in run.output
    assert _alive(tree) == []
