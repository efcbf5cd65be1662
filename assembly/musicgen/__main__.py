"""``python -m assembly.musicgen --out var/music [--force]``: build the music library."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from assembly.musicgen.library import build_library
from assembly.process import FFmpegError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assembly.musicgen",
        description="Generate Echoes' built-in music library (tracks, previews, library.json).",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write the library to")
    parser.add_argument(
        "--force", action="store_true", help="regenerate tracks that are already up to date"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        tracks = build_library(args.out, force=args.force)
    except (FFmpegError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for track in tracks:
        print(
            f"{track.slug:18} {track.mood:10} {track.bpm:5g} bpm  {track.key:9} "
            f"{track.duration_seconds:6.1f} s  {track.title}"
        )
    print(f"{len(tracks)} tracks in {args.out} ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
