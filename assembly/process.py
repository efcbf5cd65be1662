"""Running ffmpeg from asyncio: progress, clear failures, cancellation that leaves no child.

:func:`run_ffmpeg` is the one way this package starts ffmpeg. It never leaves a process
behind: if the awaiting task is cancelled (or anything else goes wrong while ffmpeg runs),
ffmpeg gets SIGTERM, two seconds to exit, then SIGKILL, and is reaped before the exception
propagates. It does not delete what ffmpeg wrote; write to a temporary name with
:func:`atomic_output` so a cancelled or failed run never leaves a file at the final path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

TERMINATE_GRACE_SECONDS = 2.0
# ffmpeg's error output is short at -loglevel error, but a caller may pass a chattier
# level; only the tail is worth keeping for an error message.
_STDERR_TAIL_LINES = 40


class FFmpegError(RuntimeError):
    """ffmpeg exited with a non-zero status.

    ``stderr`` holds the last lines ffmpeg wrote to standard error (at ``-loglevel
    error`` that is the reason it failed); ``argv`` is the command that was run.
    """

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else "no error output"
        super().__init__(f"ffmpeg exited with status {returncode}: {reason}")


async def run_ffmpeg(
    argv: Sequence[str],
    *,
    progress: Callable[[float], None] | None = None,
    total_seconds: float | None = None,
) -> None:
    """Run one ffmpeg command to completion.

    ``argv`` is a full command line whose first item is the ffmpeg executable (as built by
    :func:`assembly.ffmpeg.ffmpeg_cmd`). With ``progress``, ffmpeg is asked for
    machine-readable progress (``-progress pipe:1``) and ``progress`` is called with the
    fraction of ``total_seconds`` of output written so far, from 0.0 to 1.0 (the last
    call is 1.0 on success). Progress calls are best effort and may repeat a value. The
    progress report uses ffmpeg's standard output, so the command must not write media
    there.

    Raises :class:`FFmpegError` if ffmpeg fails. On cancellation ffmpeg is terminated,
    then killed after :data:`TERMINATE_GRACE_SECONDS`, and ``CancelledError`` propagates.
    """
    if progress is not None and not (total_seconds and total_seconds > 0):
        raise ValueError("progress reporting needs a positive total_seconds")
    argv = list(argv)
    if progress is not None:
        argv[1:1] = ["-progress", "pipe:1", "-nostats"]

    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE if progress is not None else asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        stderr_tail = asyncio.ensure_future(_tail(proc.stderr))
        try:
            if progress is not None:
                assert proc.stdout is not None and total_seconds is not None
                await _report_progress(proc.stdout, progress, total_seconds)
            returncode = await proc.wait()
            stderr = await stderr_tail
        finally:
            stderr_tail.cancel()
    except BaseException:
        await _stop(proc)
        raise

    if returncode != 0:
        raise FFmpegError(argv, returncode, stderr)
    if progress is not None:
        progress(1.0)


async def _tail(stream: asyncio.StreamReader) -> str:
    lines: deque[bytes] = deque(maxlen=_STDERR_TAIL_LINES)
    async for line in stream:
        lines.append(line)
    return b"".join(lines).decode("utf-8", "replace")


async def _report_progress(
    stream: asyncio.StreamReader, progress: Callable[[float], None], total_seconds: float
) -> None:
    async for raw in stream:
        key, _, value = raw.decode("ascii", "replace").strip().partition("=")
        # out_time_us is the output timestamp in microseconds ("N/A" before the first frame).
        if key == "out_time_us" and value.lstrip("-").isdigit():
            seconds = max(0, int(value)) / 1_000_000
            progress(min(1.0, seconds / total_seconds))


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Terminate ``proc``, kill it if it lingers, and reap it."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), TERMINATE_GRACE_SECONDS)
    except TimeoutError:
        pass
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


@contextlib.contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file lives in the same directory (so the rename is atomic) and keeps the
    suffix (so ffmpeg still picks the muxer from the name). If the block raises — including
    ``CancelledError`` — the temporary file is deleted and ``path`` is left untouched.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
