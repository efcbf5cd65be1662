"""Scratch directories for jobs: one per running job, under one root, cleaned up if the job dies.

A job's inputs (downloaded photos, clips, music) and outputs live in its own directory until
they are stored. A job that ends normally removes its directory; one whose worker was killed
(OOM, SIGKILL, a lost machine) cannot, so each directory holds a lock file that its job keeps
``flock``-ed while it runs. The kernel drops the lock when the process dies, so at start a
worker removes every directory whose lock it can take: those belong to jobs that are gone,
while jobs of other worker processes sharing the root keep theirs.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

log = structlog.get_logger()

LOCK_FILE = ".lock"
#: A directory without a lock file is only being created if it is this young (seconds).
CREATING_GRACE = 60.0


class JobScratch:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextmanager
    def job_dir(self, name: str) -> Iterator[Path]:
        """A fresh directory for one run of the job ``name`` (e.g. ``render-<id>``), removed after."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"{name}-{secrets.token_hex(4)}"
        path.mkdir()
        fd = os.open(path / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            os.close(fd)

    def remove_stale(self) -> int:
        """Remove the directories of jobs that are no longer running; returns how many."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for path in self.root.iterdir():
            if path.is_dir() and self._stale(path):
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
            elif not path.is_dir() and time.time() - path.stat().st_mtime > CREATING_GRACE:
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("scratch_cleaned", root=str(self.root), removed=removed)
        return removed

    @staticmethod
    def _stale(path: Path) -> bool:
        try:
            fd = os.open(path / LOCK_FILE, os.O_RDWR)
        except FileNotFoundError:
            return time.time() - path.stat().st_mtime > CREATING_GRACE
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        finally:
            os.close(fd)
        return True
