"""How fast is the local motion provider, against plain ffmpeg encoding a still?

    python -m bench.local_motion [--runs 7]

Cases, timed interleaved on the same photo (a 12 MP phone fixture, made upright and
downscaled to 2048 px on its long side, as upload normalisation would):

- ``still_encode``: the yardstick — ffmpeg encoding 5 s of the still photo at 1280x720
  (``-loop 1 -i photo.jpg -t 5``, scaled) with :data:`CLIP_ENCODING`'s settings.
- ``motion``: :func:`assembly.motion.render_motion`, a 5 s 16:9 clip.
- ``free_try``: the same plus the 0.5 s intro and the watermark, still one encode.
- ``free_try_clip``: :func:`assembly.clipmaker.make_local_clip` for the free try, i.e.
  the above plus the poster frame and the probe — what the free-try job really waits for.

The target is ``motion`` <= 1.5x ``still_encode`` in wall time (medians). CPU time is
reported too: on a busy machine it is the steadier comparison. Peak memory of the
ffmpeg child is measured separately for the still encode and the motion render.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

from assembly.clipmaker import make_local_clip
from assembly.encoding import CLIP_ENCODING
from assembly.ffmpeg import ffmpeg_cmd
from assembly.motion import motion_argv, render_motion
from assembly.watermark import render_watermark_png
from bench.common import measure_timing, run_child, write_results
from tests.paths import PHOTOS

NAME = "local_motion"
SOURCE_PHOTO = PHOTOS / "phone_12mp_orient6_gps.jpg"
TARGET_RATIO = 1.5
ASPECT = "16:9"
DURATION = 5.0


def normalised_photo(directory: Path) -> Path:
    """The fixture made upright and downscaled to 2048 px long side, as an RGB JPEG."""
    path = directory / "photo.jpg"
    with Image.open(SOURCE_PHOTO) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
    upright.save(path, quality=90)
    return path


def still_encode_argv(photo: Path, out: Path) -> list[str]:
    return ffmpeg_cmd(
        "-loop", "1", "-i", str(photo), "-t", str(DURATION),
        "-vf", "scale=1280:720",
        *CLIP_ENCODING.video_args(),
        str(out),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per case (>= 5)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-motion-") as tmp:
        work = Path(tmp)
        photo = normalised_photo(work)
        with Image.open(photo) as image:
            photo_size = image.size
        watermark = work / "watermark.png"
        watermark.write_bytes(render_watermark_png(1280, 720))

        cases = {
            "still_encode": lambda: run_child(still_encode_argv(photo, work / "still.mp4")),
            "motion": lambda: render_motion(photo, work / "motion.mp4", aspect=ASPECT, seed=1),
            "free_try": lambda: render_motion(
                photo,
                work / "free.mp4",
                aspect=ASPECT,
                seed=1,
                intro_seconds=0.5,
                watermark=watermark,
            ),
            "free_try_clip": lambda: make_local_clip(
                photo,
                work / "clip.mp4",
                work / "poster.jpg",
                aspect=ASPECT,
                seed=1,
                intro_seconds=0.5,
                watermark=True,
            ),
        }
        stats = measure_timing(cases, runs=max(1, args.runs))
        memory = {
            "still_encode": run_child(still_encode_argv(photo, work / "still.mp4")),
            "motion": run_child(
                motion_argv(
                    photo, work / "motion.mp4", aspect=ASPECT, photo_size=photo_size, seed=1
                )
            ),
        }

    wall_ratio = stats["motion"].wall.median / stats["still_encode"].wall.median
    cpu_ratio = stats["motion"].cpu.median / stats["still_encode"].cpu.median
    width, height = photo_size
    print(f"photo {width}x{height} -> {ASPECT} {DURATION:g} s, {args.runs} runs, medians")
    print(f"  {'case':<14} {'wall':>7} {'(min-max)':>13} {'cpu':>7}")
    for name, t in stats.items():
        spread = f"({t.wall.min:.2f}-{t.wall.max:.2f})"
        print(f"  {name:<14} {t.wall.median:6.2f}s {spread:>13} {t.cpu.median:6.2f}s")
    for name, run in memory.items():
        print(f"  peak RSS of ffmpeg, {name:<14} {run.peak_rss_bytes / 2**20:5.0f} MiB")
    verdict = "meets" if wall_ratio <= TARGET_RATIO else "MISSES"
    print(f"  motion / still_encode: wall {wall_ratio:.2f}x ({verdict} the {TARGET_RATIO}x target)")
    print(f"  motion / still_encode: cpu  {cpu_ratio:.2f}x")

    path = write_results(
        NAME,
        {
            "photo_size": list(photo_size),
            "aspect": ASPECT,
            "duration_seconds": DURATION,
            "runs": args.runs,
            "seconds": stats,
            "peak_rss": memory,
            "wall_ratio_motion_to_still_encode": round(wall_ratio, 3),
            "cpu_ratio_motion_to_still_encode": round(cpu_ratio, 3),
            "target_wall_ratio": TARGET_RATIO,
            "meets_target": wall_ratio <= TARGET_RATIO,
        },
    )
    print(f"  wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
