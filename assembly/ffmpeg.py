"""Where the ffmpeg binary comes from.

The ``ffmpeg`` on PATH wins; without one we use the static build that ships inside the
``imageio-ffmpeg`` wheel, so a fresh machine needs nothing from the system. There is no
dependency on ``ffprobe``: probing goes through PyAV (see :mod:`assembly.probe`).
"""

from __future__ import annotations

import functools
import shutil


@functools.cache
def ffmpeg_exe() -> str:
    """Absolute path of the ffmpeg binary used for every encode."""
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_cmd(*args: str) -> list[str]:
    """An argv list for ffmpeg with the flags every invocation of ours shares."""
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
