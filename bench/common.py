"""Small helpers shared by the benchmarks in this folder.

A benchmark here is a plain script (``python -m bench.<name>`` from the repository root)
that times a few cases, prints a short table and writes the figures to
``bench/results/<name>.json``. These helpers keep the measuring honest and uniform:

- :func:`measure` runs several cases *interleaved* (a, b, a, b, ...) after a warm-up, so
  background load on a shared machine hits every case alike, and returns per case the
  wall-clock :class:`Stats` (median, min, max, all samples); :func:`measure_timing`
  returns a :class:`Timing` with CPU seconds as well. Medians, not means: one stalled
  run should not move the result. CPU time (this process plus the children it waited
  for, e.g. ffmpeg) barely moves with other load on the machine, so it is the steadier
  figure when wall times are noisy.
- :func:`run_child` runs a command and reports its wall time and peak resident memory,
  read from the kernel's accounting for that child (``wait4``), not by polling.
- :func:`write_results` writes the JSON with enough context (machine, Python, ffmpeg) to
  compare runs later.

Cases are zero-argument callables; a case may be ``async def`` — it is run to completion
with :func:`asyncio.run`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assembly.ffmpeg import ffmpeg_exe

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Stats:
    """Wall-clock seconds of repeated runs of one case."""

    median: float
    min: float
    max: float
    samples: list[float]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples")
        return cls(
            median=statistics.median(samples),
            min=min(samples),
            max=max(samples),
            samples=list(samples),
        )


@dataclass(frozen=True)
class Timing:
    """Wall-clock and CPU seconds (self + waited-for children) of repeated runs of a case."""

    wall: Stats
    cpu: Stats


@dataclass(frozen=True)
class ChildRun:
    """One finished child process: wall time, peak resident memory, exit status."""

    seconds: float
    peak_rss_bytes: int
    returncode: int


def call(case: Callable[[], Any]) -> Any:
    """Run one case to completion, awaiting it if it is a coroutine function."""
    result = case()
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def time_call(case: Callable[[], Any]) -> float:
    """Wall-clock seconds one run of ``case`` takes."""
    return _timed(case)[0]


def _timed(case: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run; CPU includes the children waited for."""
    cpu_before = _cpu_seconds()
    start = time.perf_counter()
    call(case)
    wall = time.perf_counter() - start
    return wall, _cpu_seconds() - cpu_before


def _cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def measure(
    cases: Mapping[str, Callable[[], Any]], *, runs: int = 5, warmup: int = 1
) -> dict[str, Stats]:
    """Wall-clock :class:`Stats` of every case: :func:`measure_timing` without the CPU."""
    timings = measure_timing(cases, runs=runs, warmup=warmup)
    return {name: timing.wall for name, timing in timings.items()}


def measure_timing(
    cases: Mapping[str, Callable[[], Any]], *, runs: int = 5, warmup: int = 1
) -> dict[str, Timing]:
    """Time every case ``runs`` times, interleaved, after ``warmup`` untimed rounds."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    for _ in range(warmup):
        for case in cases.values():
            call(case)
    wall: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            seconds, cpu_seconds = _timed(case)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
    return {name: Timing(wall=Stats.of(wall[name]), cpu=Stats.of(cpu[name])) for name in cases}


def run_child(argv: Sequence[str], *, check: bool = True) -> ChildRun:
    """Run ``argv`` with output discarded; report its wall time and peak RSS.

    The peak is the child's own maximum resident set size (``ru_maxrss`` from
    ``wait4``); processes the child itself starts are not included.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stderr.close()
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, list(argv), stderr=stderr)
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    scale = 1 if sys.platform == "darwin" else 1024
    peak = usage.ru_maxrss * scale
    return ChildRun(seconds=seconds, peak_rss_bytes=peak, returncode=proc.returncode)


def environment() -> dict[str, Any]:
    """Where the figures come from: enough to tell two runs' machines apart."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    if hasattr(os, "getloadavg"):
        info["loadavg_1m"] = os.getloadavg()[0]
    version = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, text=True, check=False
    )
    info["ffmpeg"] = version.stdout.split("\n", 1)[0]
    return info


def write_results(name: str, results: Mapping[str, Any]) -> Path:
    """Write ``results`` (plus a timestamp and :func:`environment`) to ``results/<name>.json``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {
        "benchmark": name,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        **{key: _jsonable(value) for key, value in results.items()},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def _jsonable(value: Any) -> Any:
    if isinstance(value, Stats | Timing | ChildRun):
        return asdict(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
