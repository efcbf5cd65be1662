"""``make run``: start the whole product as child processes and stop all of it on Ctrl-C.

Order of events: embedded Postgres and Redis (unless ``DATABASE_URL`` / ``REDIS_URL`` name real
servers), embedded SeaweedFS with ``--storage s3`` (unless ``STORAGE_URL`` is set) -> migrations -> API, worker, web app -> wait for health -> banner. Any child that
exits on its own brings everything down with a non-zero status and its last log lines;
Ctrl-C, SIGTERM or SIGHUP stop the app processes in reverse order, then Redis, then Postgres,
and exit 0.

Every child runs in a session of its own so the terminal's Ctrl-C reaches only this process,
which then stops things in a safe order (the API must not lose its database mid-request).
The main loop sleeps on a self-pipe written by signal handlers and by one waiter thread per
child, so it reacts to an exit or a signal at once (it polls only the health URL, and only
until everything is up).

This launcher is the one program besides ``api.config.Settings`` that reads the environment:
it has to, to decide which servers to embed. Those reads live in
:func:`read_launch_environment`.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TextIO
from urllib.parse import urlsplit, urlunsplit

import psutil

from devstack.services import (
    EmbeddedPostgres,
    EmbeddedRedis,
    EmbeddedSeaweedFS,
    S3Credentials,
    ServiceError,
    describe_port_owner,
    parent_death_signal,
    port_is_free,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "echoes"
STOP_GRACE_SECONDS = 10.0
TAIL_LINES = 30


@dataclass(frozen=True)
class CommandSpec:
    """One process of the stack. ``{python}``, ``{api_port}``, ``{web_port}``,
    ``{api_origin}``, ``{repo}`` and ``{var_dir}`` in argv and env are filled in at start."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


MIGRATE = CommandSpec("migrate", ("{python}", "-m", "api", "migrate"))
SEED_MUSIC = CommandSpec("music", ("{python}", "-m", "api", "seed-music"))
#: One-shot steps run in order before the app processes start, with what they do.
SETUP_STEPS: tuple[CommandSpec, ...] = (MIGRATE, SEED_MUSIC)
SETUP_DESCRIPTIONS = {"migrate": "applying database migrations", "music": "preparing the music library"}

APP_PROCESSES: tuple[CommandSpec, ...] = (
    CommandSpec(
        "api", ("{python}", "-m", "api", "serve", "--host", "127.0.0.1", "--port", "{api_port}")
    ),
    CommandSpec("worker", ("{python}", "-m", "worker")),
    CommandSpec(
        "web", ("npm", "run", "start"), env={"PORT": "{web_port}", "API_ORIGIN": "{api_origin}"}
    ),
)

_COLOURS = {"devstack": "1", "migrate": "33", "api": "36", "worker": "35", "web": "32"}


@dataclass(frozen=True)
class Options:
    var_dir: Path
    pg_port: int
    redis_port: int
    storage: str
    s3_port: int
    api_port: int
    web_port: int
    web: bool
    ready_timeout: float
    command_overrides: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class LaunchEnvironment:
    """What the launcher takes from the environment it was started with."""

    variables: Mapping[str, str]
    database_url: str | None
    redis_url: str | None
    storage_url: str | None
    colour: bool


def read_launch_environment(
    environ: Mapping[str, str] | None = None, *, stdout: TextIO | None = None
) -> LaunchEnvironment:
    env = dict(os.environ if environ is None else environ)
    stream = stdout if stdout is not None else sys.stdout
    return LaunchEnvironment(
        variables=env,
        database_url=env.get("DATABASE_URL") or None,
        redis_url=env.get("REDIS_URL") or None,
        storage_url=env.get("STORAGE_URL") or None,
        colour=stream.isatty() and "NO_COLOR" not in env and env.get("TERM") != "dumb",
    )


def parse_args(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m devstack", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start Postgres, Redis, migrations, API, worker and web app")
    run.add_argument(
        "--var-dir",
        type=Path,
        default=REPO_ROOT / "var",
        help="where data and logs live (default: %(default)s)",
    )
    run.add_argument(
        "--pg-port", type=int, default=54329, help="embedded Postgres port (default: %(default)s)"
    )
    run.add_argument(
        "--redis-port", type=int, default=63799, help="embedded Redis port (default: %(default)s)"
    )
    run.add_argument(
        "--storage",
        choices=("local", "s3"),
        default="local",
        help="media on local disk, or in an embedded SeaweedFS over S3 (default: %(default)s)",
    )
    run.add_argument(
        "--s3-port", type=int, default=58333, help="embedded SeaweedFS S3 port (default: %(default)s)"
    )
    run.add_argument("--api-port", type=int, default=8000, help="API port (default: %(default)s)")
    run.add_argument(
        "--web-port", type=int, default=3000, help="web app port (default: %(default)s)"
    )
    run.add_argument("--no-web", dest="web", action="store_false", help="do not start the web app")
    run.add_argument(
        "--ready-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the API and web app to answer (default: %(default)s)",
    )
    for spec in (*SETUP_STEPS, *APP_PROCESSES):
        run.add_argument(
            f"--{spec.name}-cmd",
            metavar="COMMAND",
            help=f"replace the {spec.name} command (default: {' '.join(spec.argv)})",
        )
    args = parser.parse_args(argv)
    overrides = {
        spec.name: tuple(shlex.split(value))
        for spec in (*SETUP_STEPS, *APP_PROCESSES)
        if (value := getattr(args, f"{spec.name}_cmd")) is not None
    }
    return Options(
        var_dir=args.var_dir.resolve(),
        pg_port=args.pg_port,
        redis_port=args.redis_port,
        storage=args.storage,
        s3_port=args.s3_port,
        api_port=args.api_port,
        web_port=args.web_port,
        web=args.web,
        ready_timeout=args.ready_timeout,
        command_overrides=overrides,
    )


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


class _Wakeup:
    """A self-pipe: signal handlers and waiter threads write a byte, the main loop selects.

    Writing to a pipe takes no lock, so it is safe from a signal handler, unlike
    ``threading.Event.set``.
    """

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)

    def notify(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"\0")

    def wait(self, timeout: float | None) -> None:
        with contextlib.suppress(InterruptedError):
            select.select([self._r], [], [], timeout)
        with contextlib.suppress(BlockingIOError):
            while os.read(self._r, 512):
                pass

    def close(self) -> None:
        os.close(self._r)
        os.close(self._w)


class _Console:
    """Serialises lines from many threads onto one stream, with coloured name prefixes."""

    def __init__(self, stream: TextIO, *, colour: bool, width: int) -> None:
        self._stream = stream
        self._colour = colour
        self._width = width
        self._lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        label = f"{name:<{self._width}} |"
        if self._colour:
            label = f"\033[{_COLOURS.get(name, '0')}m{label}\033[0m"
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._stream.write(f"{label} {text}\n" if text else f"{label}\n")
            self._stream.flush()

    def say(self, text: str) -> None:
        for part in text.splitlines() or [""]:
            self.line("devstack", part)


class _ManagedProcess:
    """A child in its own session whose output is prefixed onto the console and kept in a log."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
        console: _Console,
        wakeup: _Wakeup,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._console = console
        self._log: IO[bytes] = log_path.open("ab")
        self._log.write(
            f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(self.argv)}\n".encode()
        )
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                preexec_fn=parent_death_signal(signal.SIGTERM),
            )
        except OSError:
            self._log.close()
            raise
        self._pump = threading.Thread(target=self._copy_output, name=f"{name}-output", daemon=True)
        self._pump.start()
        self._waiter = threading.Thread(
            target=self._await_exit, args=(wakeup,), name=f"{name}-wait", daemon=True
        )
        self._waiter.start()

    def _copy_output(self) -> None:
        assert self.process.stdout is not None
        with contextlib.suppress(OSError, ValueError):
            for raw in iter(self.process.stdout.readline, b""):
                self._log.write(raw)
                text = raw.decode(errors="replace").rstrip("\r\n")
                self.tail.append(text)
                self._console.line(self.name, text)
            self._log.flush()

    def _await_exit(self, wakeup: _Wakeup) -> None:
        self.process.wait()
        wakeup.notify()

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def drain_output(self, timeout: float = 2.0) -> None:
        """Wait for the output pump to copy what an exited child last printed."""
        self._pump.join(timeout)

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the whole process group, SIGKILL whatever is left after ``grace`` seconds."""
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        while _group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.process.poll() is None or _group_members(pgid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait()
        self.close()

    def close(self) -> None:
        self._waiter.join()
        self._pump.join(timeout=2)
        if self._pump.is_alive():
            # Something outside the process group still holds the pipe; closing it now would
            # block on the reader's lock. The daemon thread ends with this process.
            return
        if self.process.stdout is not None:
            self.process.stdout.close()
        self._log.close()


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in a process group."""
    members = []
    for proc in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if proc.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(proc.pid) == pgid:
                members.append(proc.pid)
    return members


class _Stopped(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived: shut down and exit 0."""


class _Failed(Exception):
    """Something the stack needs failed: shut down and exit 1 with this message."""


class Supervisor:
    def __init__(
        self, options: Options, launch: LaunchEnvironment, stdout: TextIO | None = None
    ) -> None:
        self.options = options
        self.launch = launch
        width = max(len(name) for name in _COLOURS)
        self.console = _Console(
            stdout if stdout is not None else sys.stdout, colour=launch.colour, width=width
        )
        self.wakeup = _Wakeup()
        self.children: list[_ManagedProcess] = []
        self.services: list[EmbeddedPostgres | EmbeddedRedis | EmbeddedSeaweedFS] = []
        self._service_watchers: list[threading.Thread] = []
        self._stop_signal: int | None = None

    def _on_signal(self, signum: int, _frame: object) -> None:
        if self._stop_signal is None:
            self._stop_signal = signum
        self.wakeup.notify()

    def _check_stop(self) -> None:
        if self._stop_signal is not None:
            raise _Stopped

    def run(self) -> int:
        """Start everything, supervise until a signal or a failure, stop everything; exit code."""
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        }
        try:
            with contextlib.ExitStack() as services:
                try:
                    self._start(services)
                    self._watch()
                except _Stopped:
                    name = signal.Signals(self._stop_signal or signal.SIGINT).name
                    self.console.say(f"{name} received: stopping everything")
                    code = 0
                except (_Failed, ServiceError) as exc:
                    self.console.say(f"error: {exc}")
                    code = 1
                finally:
                    self._stop_children()
            self.console.say("all processes stopped")
            return code
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for watcher in self._service_watchers:
                watcher.join()
            self.wakeup.close()

    def _start(self, stack: contextlib.ExitStack) -> None:
        opts = self.options
        specs = [spec for spec in APP_PROCESSES if spec.name != "web" or self._web_wanted()]
        self._check_ports(specs)
        for sub in ("postgres", "redis", "media", "log"):
            (opts.var_dir / sub).mkdir(parents=True, exist_ok=True)
        env = dict(self.launch.variables)
        env["ECHOES_VAR_DIR"] = str(opts.var_dir)
        env["PYTHONUNBUFFERED"] = "1"
        # Checkout return links and the like must point at the web app actually started.
        env.setdefault("PUBLIC_URL", f"http://localhost:{opts.web_port}")

        if self.launch.database_url:
            self.console.say(f"Postgres: external ({_redact(self.launch.database_url)})")
        else:
            pg = EmbeddedPostgres(
                opts.var_dir / "postgres",
                port=opts.pg_port,
                log_path=opts.var_dir / "log" / "postgres.log",
            )
            self.console.say(
                f"Postgres: embedded, starting on 127.0.0.1:{opts.pg_port} (data {pg.data_dir})"
            )
            pg.start()
            self._supervise_service(pg, stack)
            url = pg.create_database(DATABASE_NAME)
            env["DATABASE_URL"] = url.replace("postgresql://", "postgresql+asyncpg://", 1)
        self._check_stop()

        if self.launch.redis_url:
            self.console.say(f"Redis: external ({_redact(self.launch.redis_url)})")
        else:
            redis = EmbeddedRedis(
                opts.var_dir / "redis",
                port=opts.redis_port,
                log_path=opts.var_dir / "log" / "redis.log",
            )
            self.console.say(
                f"Redis: embedded, starting on 127.0.0.1:{opts.redis_port} (data {redis.data_dir})"
            )
            env["REDIS_URL"] = redis.start()
            self._supervise_service(redis, stack)
        self._check_stop()

        if self.launch.storage_url:
            self.console.say(f"Storage: external ({_redact(self.launch.storage_url)})")
        elif opts.storage == "s3":
            seaweedfs = EmbeddedSeaweedFS(
                opts.var_dir / "seaweedfs",
                credentials=S3Credentials.load_or_create(opts.var_dir / "s3-credentials.json"),
                port=opts.s3_port,
                log_path=opts.var_dir / "log" / "seaweedfs.log",
            )
            self.console.say(
                f"Storage: embedded SeaweedFS, S3 on 127.0.0.1:{opts.s3_port} (data {seaweedfs.data_dir})"
            )
            seaweedfs.start()
            self._supervise_service(seaweedfs, stack)
            env.update(seaweedfs.environment())
        else:
            self.console.say(f"Storage: local disk ({opts.var_dir / 'media'})")
        self._check_stop()

        self._migrate(env)

        for spec in specs:
            self._spawn(spec, env)
        self._wait_until_ready(web="web" in {s.name for s in specs})

    def _web_wanted(self) -> bool:
        if not self.options.web:
            self.console.say("web: not started (--no-web)")
            return False
        if "web" in self.options.command_overrides:
            return True
        if not (REPO_ROOT / "web" / ".next" / "BUILD_ID").exists():
            self.console.say(
                "web: no production build in web/.next - run `npm run build` first; "
                "starting without the web app"
            )
            return False
        if shutil.which("npm") is None:
            raise _Failed("npm is not on PATH: install Node 20+ or pass --no-web")
        return True

    def _check_ports(self, specs: Sequence[CommandSpec]) -> None:
        wanted = {"api": self.options.api_port, "web": self.options.web_port}
        for spec in specs:
            port = wanted.get(spec.name)
            if port is not None and not port_is_free(port):
                owner = describe_port_owner(port)
                raise _Failed(
                    f"port {port} for {spec.name} is already in use"
                    + (f" by {owner}" if owner else "")
                    + " (a previous run still going?)"
                )

    def _substitutions(self) -> dict[str, str]:
        return {
            "{python}": sys.executable,
            "{api_port}": str(self.options.api_port),
            "{web_port}": str(self.options.web_port),
            "{api_origin}": f"http://127.0.0.1:{self.options.api_port}",
            "{repo}": str(REPO_ROOT),
            "{var_dir}": str(self.options.var_dir),
        }

    def _fill(self, text: str) -> str:
        for placeholder, value in self._substitutions().items():
            text = text.replace(placeholder, value)
        return text

    def _spawn(self, spec: CommandSpec, env: Mapping[str, str]) -> _ManagedProcess:
        argv = [self._fill(a) for a in self.options.command_overrides.get(spec.name, spec.argv)]
        child_env = {**env, **{k: self._fill(v) for k, v in spec.env.items()}}
        try:
            child = _ManagedProcess(
                spec.name,
                argv,
                env=child_env,
                cwd=REPO_ROOT,
                log_path=self.options.var_dir / "log" / f"{spec.name}.log",
                console=self.console,
                wakeup=self.wakeup,
            )
        except OSError as exc:
            raise _Failed(f"could not start {spec.name} ({shlex.join(argv)}): {exc}") from exc
        self.children.append(child)
        return child

    def _migrate(self, env: Mapping[str, str]) -> None:
        for spec in SETUP_STEPS:
            self.console.say(SETUP_DESCRIPTIONS[spec.name])
            step = self._spawn(spec, env)
            while step.returncode is None:
                self.wakeup.wait(None)
                self._check_stop()
                self._check_services()
            self.children.remove(step)
            step.close()
            if step.returncode != 0:
                raise _Failed(
                    f"{spec.name} failed (exit code {step.returncode}); last lines above "
                    f"and in {self.options.var_dir / 'log' / f'{spec.name}.log'}"
                )

    def _check_children(self) -> None:
        self._check_services()
        self._check_app_processes()

    def _check_services(self) -> None:
        for service in self.services:
            code = service.poll()
            if code is not None:
                raise _Failed(
                    f"{service.service_name} exited unexpectedly with code {code}. "
                    f"The end of {service.log_path}:\n{service.log_tail(TAIL_LINES)}"
                )

    def _check_app_processes(self) -> None:
        for child in self.children:
            code = child.returncode
            if code is not None:
                child.drain_output()
                tail = "\n".join(f"    {line}" for line in child.tail) or "    (no output)"
                raise _Failed(
                    f"{child.name} exited unexpectedly with code {code}. Its last lines:\n{tail}"
                )

    def _wait_until_ready(self, *, web: bool) -> None:
        opts = self.options
        health = f"http://127.0.0.1:{opts.api_port}/api/health"
        deadline = time.monotonic() + opts.ready_timeout
        api_ok = web_ok = False
        while True:
            self._check_stop()
            self._check_children()
            api_ok = api_ok or _answers_200(health)
            web_ok = web_ok or not web or _accepts_connections(opts.web_port)
            if api_ok and web_ok:
                break
            if time.monotonic() > deadline:
                waiting = [
                    what
                    for what, ok in (
                        ("API health " + health, api_ok),
                        (f"web app on port {opts.web_port}", web_ok),
                    )
                    if not ok
                ]
                tails = "".join(
                    f"\n  last lines of {child.name}:\n"
                    + ("\n".join(f"    {t}" for t in child.tail) or "    (no output)")
                    for child in self.children
                    if child.name in ("api", "web")
                )
                raise _Failed(
                    f"not ready after {opts.ready_timeout:.0f} s: waiting for {', '.join(waiting)}{tails}"
                )
            self.wakeup.wait(0.25)

        embedded = [
            name
            for name, url in (
                ("Postgres", self.launch.database_url),
                ("Redis", self.launch.redis_url),
            )
            if not url
        ]
        if opts.storage == "s3" and not self.launch.storage_url:
            embedded.append("SeaweedFS")
        api = f"http://127.0.0.1:{opts.api_port}"
        if web:
            headline = f"Echoes is running: http://localhost:{opts.web_port}  (API {api}, docs /api/schema)"
        else:
            headline = f"Echoes is running: {api}  (API only, no web app; docs /api/schema)"
        self.console.say("")
        self.console.say(headline)
        self.console.say(f"Data: {opts.var_dir}  (embedded: {', '.join(embedded) or 'none'})")
        self.console.say(f"Logs: {opts.var_dir / 'log'}")
        self.console.say("Press Ctrl-C to stop.")
        self.console.say("")

    def _watch(self) -> None:
        while True:
            self._check_stop()
            self._check_children()
            self.wakeup.wait(None)

    def _stop_children(self) -> None:
        for child in reversed(self.children):
            if child.returncode is None:
                self.console.say(f"stopping {child.name}")
            child.stop()
        self.children.clear()

    def _supervise_service(
        self, service: EmbeddedPostgres | EmbeddedRedis | EmbeddedSeaweedFS, stack: contextlib.ExitStack
    ) -> None:
        """Stop ``service`` when ``stack`` closes; wake the main loop if it dies before that."""

        def watch() -> None:
            service.wait()
            self.wakeup.notify()

        watcher = threading.Thread(target=watch, name=f"{service.service_name}-wait", daemon=True)
        watcher.start()
        self._service_watchers.append(watcher)
        self.services.append(service)
        stack.callback(self._stop_service, service)

    def _stop_service(self, service: EmbeddedPostgres | EmbeddedRedis | EmbeddedSeaweedFS) -> None:
        self.console.say(f"stopping {service.service_name}")
        service.stop()
        self.services.remove(service)


def _answers_200(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError):
        return False


def _accepts_connections(port: int) -> bool:
    for host in ("127.0.0.1", "::1"):
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return True
    return False


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    return Supervisor(options, read_launch_environment()).run()
