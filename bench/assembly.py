"""How fast and how lean is assembly, against "just encode it once" and against moviepy?

    python -m bench.assembly [--quick] [--skip-moviepy] [--runs N]

Input: 10 clips x 5 s, 1280x720, 24 fps, made the way production makes them (the local
motion provider over the fixture photos, stored with ``CLIP_ENCODING``), 0.5 s crossfades
and a 60 s music track trimmed to the video with a 2 s fade-out. Cases, each a child
process, timed interleaved (medians):

- ``b_reference``: plain concat demuxer + one re-encode with the same x264 preset and CRF,
  no filters, no audio — "just encode it once";
- ``a1_smart``: ``python -m assembly render`` without a watermark (auto mode picks smart);
- ``a2_full_watermark``: the same with a watermark (auto mode picks full);
- ``c_moviepy``: the same watermarked assembly done the moviepy way
  (``concatenate_videoclips`` with crossfades, ``CompositeAudioClip``, an ``ImageClip``
  watermark, ``write_videofile`` with the same preset and CRF).

Targets: a1 <= 0.3 x b; a2 <= 1.2 x b; c >= 7 x a2; peak RSS of a1 and a2 <= 300 MB, and at
40 clips <= 1.25 x the 10-clip figure, with time growing linearly in the number of clips.

On a shared machine wall-clock medians move with other people's load, so every run also
records its CPU time (user + system, the whole process tree); the scaling runs report CPU
milliseconds per output frame, which shows linearity whatever the load.

Peak RSS is reported two ways: the largest single process of the render's process tree
(kernel accounting via ``wait4``) and the largest *sum* over the tree seen by sampling every
50 ms (a smart render runs its video and audio encodes side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path

import numpy as np
import psutil
from PIL import Image, ImageOps

from assembly.encoding import CLIP_ENCODING
from assembly.ffmpeg import ffmpeg_cmd
from assembly.motion import render_motion
from assembly.watermark import render_watermark_png
from bench.common import measure, write_results
from tests.paths import PHOTOS

NAME = "assembly"
CLIPS = 10
CLIP_SECONDS = 5.0
TRANSITION = 0.5
MUSIC_SECONDS = 60.0
MUSIC_FADE_OUT = 2.0
SCALING_CLIP_COUNTS = (10, 20, 40)
PHOTO_NAMES = (
    "astronaut.jpg",
    "chelsea.jpg",
    "coffee.jpg",
    "hubble.jpg",
    "rocket.jpg",
    "phone_portrait.jpg",
    "chelsea_grey.jpg",
    "phone_12mp_orient6_gps.jpg",
    "astronaut.webp",
    "coffee_cmyk.jpg",
)
TARGETS = {
    "a1_over_b": 0.3,
    "a2_over_b": 1.2,
    "c_over_a2": 7.0,
    "peak_rss_mb": 300,
    "rss_growth_40": 1.25,
}
CACHE = Path(tempfile.gettempdir()) / f"echoes-bench-assembly-clips-v{CLIP_ENCODING.version}"


# --------------------------------------------------------------------------- inputs


def make_clips(directory: Path) -> list[Path]:
    """Ten production-like clips (motion over the fixture photos), cached between runs."""
    directory.mkdir(parents=True, exist_ok=True)
    clips = []
    for index, name in enumerate(PHOTO_NAMES[:CLIPS]):
        clip = directory / f"clip{index:02d}.mp4"
        if not clip.exists():
            photo = directory / f"photo{index:02d}.jpg"
            with Image.open(PHOTOS / name) as image:
                upright = ImageOps.exif_transpose(image).convert("RGB")
            upright.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
            upright.save(photo, quality=90)
            partial = clip.with_suffix(".partial.mp4")
            asyncio.run(
                render_motion(photo, partial, aspect="16:9", duration=CLIP_SECONDS, seed=index)
            )
            partial.rename(clip)
        clips.append(clip)
    return clips


def make_music(path: Path, seconds: float = MUSIC_SECONDS, bpm: float = 120.0) -> Path:
    """A synthetic but music-like track: a chord pad, a kick on every beat, off-beat hats."""
    rate = 44_100
    t = np.arange(int(seconds * rate)) / rate
    pad = sum(0.06 * np.sin(2 * math.pi * f * t) for f in (220.0, 277.2, 329.6))
    signal = pad.astype(np.float64)
    rng = np.random.default_rng(1)
    period = 60 / bpm
    for beat in np.arange(0.1, seconds - 0.3, period):
        start = int(beat * rate)
        n = int(0.15 * rate)
        tt = np.arange(n) / rate
        signal[start : start + n] += (
            0.7 * np.sin(2 * math.pi * (55 + 60 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 18)
        )
        hat = int((beat + period / 2) * rate)
        m = int(0.03 * rate)
        signal[hat : hat + m] += 0.1 * rng.standard_normal(m) * np.exp(-np.arange(m) / rate * 150)
    pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
    wav = path.with_suffix(".wav")
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    subprocess.run(
        ffmpeg_cmd("-i", str(wav), "-c:a", "libmp3lame", "-b:a", "192k", str(path)), check=True
    )
    wav.unlink()
    return path


# --------------------------------------------------------------------------- cases


def reference_argv(clips: list[Path], work: Path, out: Path) -> list[str]:
    listing = work / "reference.ffconcat"
    listing.write_text("ffconcat version 1.0\n" + "".join(f"file '{c}'\n" for c in clips))
    return ffmpeg_cmd(
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        str(listing),
        "-c:v",
        "libx264",
        "-preset",
        CLIP_ENCODING.preset,
        "-crf",
        str(CLIP_ENCODING.crf),
        "-pix_fmt",
        "yuv420p",
        "-an",
        str(out),
    )


def assembly_argv(
    clips: list[Path], music: Path, out: Path, *, watermark: Path | None
) -> list[str]:
    argv = [sys.executable, "-m", "assembly", "render", "--quiet"]
    for clip in clips:
        argv += ["--clip", str(clip)]
    argv += [
        "--music",
        str(music),
        "--music-fade-out",
        str(MUSIC_FADE_OUT),
        "--transition",
        "crossfade",
        "--transition-duration",
        str(TRANSITION),
        "--size",
        "1280x720",
        "--fps",
        "24",
        "--out",
        str(out),
    ]
    if watermark is not None:
        argv += ["--watermark", str(watermark)]
    return argv


def moviepy_argv(clips: list[Path], music: Path, watermark: Path, out: Path) -> list[str]:
    spec = json.dumps(
        {
            "clips": [str(c) for c in clips],
            "music": str(music),
            "watermark": str(watermark),
            "out": str(out),
        }
    )
    return [
        sys.executable,
        "-c",
        f"from bench.assembly import moviepy_render; moviepy_render({spec!r})",
    ]


def moviepy_render(spec_json: str) -> None:
    """The watermarked assembly as moviepy-based video makers write it (run in a child)."""
    from moviepy import (
        AudioFileClip,
        CompositeAudioClip,
        CompositeVideoClip,
        ImageClip,
        VideoFileClip,
        afx,
        concatenate_videoclips,
        vfx,
    )

    spec = json.loads(spec_json)
    clips = [VideoFileClip(path) for path in spec["clips"]]
    faded = [clips[0], *(clip.with_effects([vfx.CrossFadeIn(TRANSITION)]) for clip in clips[1:])]
    video = concatenate_videoclips(faded, method="compose", padding=-TRANSITION)
    music = (
        AudioFileClip(spec["music"])
        .subclipped(0, video.duration)
        .with_effects([afx.AudioFadeOut(MUSIC_FADE_OUT)])
    )
    watermark = (
        ImageClip(spec["watermark"])
        .with_duration(video.duration)
        .with_position(("right", "bottom"))
    )
    final = CompositeVideoClip([video, watermark]).with_audio(CompositeAudioClip([music]))
    final.write_videofile(
        spec["out"],
        fps=24,
        codec="libx264",
        preset=CLIP_ENCODING.preset,
        ffmpeg_params=["-crf", str(CLIP_ENCODING.crf), "-pix_fmt", "yuv420p"],
        audio_codec="aac",
        logger=None,
    )


class TreeRun:
    """A child process run to completion: wall time, peak RSS of its largest process
    (``wait4``) and the peak of the summed RSS of its whole tree (sampled)."""

    def __init__(self, argv: list[str]) -> None:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        peak_sum = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_sum
            try:
                root = psutil.Process(proc.pid)
            except psutil.NoSuchProcess:
                return
            while not done.is_set():
                total = 0
                try:
                    for p in [root, *root.children(recursive=True)]:
                        try:
                            total += p.memory_info().rss
                        except psutil.NoSuchProcess:
                            pass
                except psutil.NoSuchProcess:
                    return
                peak_sum = max(peak_sum, total)
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        assert proc.stderr is not None
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        sampler.join()
        proc.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise RuntimeError(
                f"{argv[:4]}... exited {code}: {stderr.decode(errors='replace')[-2000:]}"
            )
        self.seconds = time.perf_counter() - start
        self.cpu_seconds = usage.ru_utime + usage.ru_stime
        self.peak_rss_mb = usage.ru_maxrss / 1024
        self.peak_tree_rss_mb = peak_sum / 2**20

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "peak_rss_mb": self.peak_rss_mb,
            "peak_tree_rss_mb": self.peak_tree_rss_mb,
        }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repetitions (3, moviepy once, scaling once)"
    )
    parser.add_argument("--skip-moviepy", action="store_true", help="leave out case (c)")
    parser.add_argument(
        "--runs", type=int, default=None, help="timed repetitions of the fast cases"
    )
    args = parser.parse_args(argv)
    runs = args.runs or (3 if args.quick else 5)
    slow_runs = 1 if args.quick else 3

    clips = make_clips(CACHE)
    with tempfile.TemporaryDirectory(prefix="bench-assembly-") as tmp:
        work = Path(tmp)
        music = make_music(work / "music.mp3")
        watermark = work / "watermark.png"
        watermark.write_bytes(render_watermark_png(1280, 720))

        runs_by_case: dict[str, list[TreeRun]] = {
            "b_reference": [],
            "a1_smart": [],
            "a2_full_watermark": [],
        }
        cases = {
            "b_reference": lambda: runs_by_case["b_reference"].append(
                TreeRun(reference_argv(clips, work, work / "b.mp4"))
            ),
            "a1_smart": lambda: runs_by_case["a1_smart"].append(
                TreeRun(assembly_argv(clips, music, work / "a1.mp4", watermark=None))
            ),
            "a2_full_watermark": lambda: runs_by_case["a2_full_watermark"].append(
                TreeRun(assembly_argv(clips, music, work / "a2.mp4", watermark=watermark))
            ),
        }
        print(
            f"{len(clips)} clips x {CLIP_SECONDS:g} s 1280x720, {runs} runs (+1 warm-up), medians",
            flush=True,
        )
        stats = measure(cases, runs=runs, warmup=1)
        for name in runs_by_case:
            runs_by_case[name] = runs_by_case[name][1:]  # drop the warm-up
        moviepy_runs: list[TreeRun] = []
        if not args.skip_moviepy:
            print(f"moviepy, {slow_runs} run(s)...", flush=True)
            moviepy_runs = [
                TreeRun(moviepy_argv(clips, music, watermark, work / "c.mp4"))
                for _ in range(slow_runs)
            ]

        scaling: dict[str, dict[int, dict[str, float]]] = {"a1_smart": {}, "a2_full_watermark": {}}
        for count in SCALING_CLIP_COUNTS:
            many = [clips[i % len(clips)] for i in range(count)]
            for case, mark in (("a1_smart", None), ("a2_full_watermark", watermark)):
                print(f"scaling: {case} with {count} clips...", flush=True)
                samples = [
                    TreeRun(assembly_argv(many, music, work / "s.mp4", watermark=mark))
                    for _ in range(slow_runs)
                ]
                frames = round(count * CLIP_SECONDS * 24 - (count - 1) * TRANSITION * 24)
                scaling[case][count] = {
                    "seconds": float(np.median([s.seconds for s in samples])),
                    "cpu_seconds": float(np.median([s.cpu_seconds for s in samples])),
                    "cpu_ms_per_output_frame": 1000
                    * float(np.median([s.cpu_seconds for s in samples]))
                    / frames,
                    "peak_rss_mb": max(s.peak_rss_mb for s in samples),
                    "peak_tree_rss_mb": max(s.peak_tree_rss_mb for s in samples),
                }

    b, a1, a2 = (stats[name].median for name in ("b_reference", "a1_smart", "a2_full_watermark"))
    c = float(np.median([r.seconds for r in moviepy_runs])) if moviepy_runs else None
    rss = {name: max(r.peak_rss_mb for r in result) for name, result in runs_by_case.items()}
    tree = {name: max(r.peak_tree_rss_mb for r in result) for name, result in runs_by_case.items()}
    ratios = {"a1_over_b": a1 / b, "a2_over_b": a2 / b}
    if c is not None:
        ratios["c_over_a2"] = c / a2
    growth = {
        case: scaling[case][SCALING_CLIP_COUNTS[-1]]["peak_rss_mb"]
        / scaling[case][SCALING_CLIP_COUNTS[0]]["peak_rss_mb"]
        for case in scaling
    }

    print()
    for name, s in stats.items():
        print(
            f"  {name:<20} {s.median:7.2f} s  (min {s.min:.2f}, max {s.max:.2f})  peak RSS {rss[name]:5.0f} MB (tree {tree[name]:5.0f} MB)"
        )
    if c is not None:
        print(
            f"  {'c_moviepy':<20} {c:7.2f} s  peak RSS {max(r.peak_rss_mb for r in moviepy_runs):5.0f} MB "
            f"(tree {max(r.peak_tree_rss_mb for r in moviepy_runs):5.0f} MB)"
        )
    verdict = lambda ok: "meets" if ok else "MISSES"  # noqa: E731
    print(
        f"  a1/b = {ratios['a1_over_b']:.2f} ({verdict(ratios['a1_over_b'] <= TARGETS['a1_over_b'])} <= {TARGETS['a1_over_b']})"
    )
    print(
        f"  a2/b = {ratios['a2_over_b']:.2f} ({verdict(ratios['a2_over_b'] <= TARGETS['a2_over_b'])} <= {TARGETS['a2_over_b']})"
    )
    if c is not None:
        print(
            f"  c/a2 = {ratios['c_over_a2']:.1f} ({verdict(ratios['c_over_a2'] >= TARGETS['c_over_a2'])} >= {TARGETS['c_over_a2']})"
        )
    for case in scaling:
        row = "  ".join(
            f"{n} clips {v['seconds']:.1f} s (CPU {v['cpu_ms_per_output_frame']:.1f} ms/frame) "
            f"{v['peak_rss_mb']:.0f} MB"
            for n, v in scaling[case].items()
        )
        print(
            f"  {case:<20} {row}  (RSS 40/10 = {growth[case]:.2f}, {verdict(growth[case] <= TARGETS['rss_growth_40'])} <= 1.25)"
        )

    path = write_results(
        NAME,
        {
            "clips": CLIPS,
            "clip_seconds": CLIP_SECONDS,
            "transition_seconds": TRANSITION,
            "preset": CLIP_ENCODING.preset,
            "crf": CLIP_ENCODING.crf,
            "runs": runs,
            "stats": stats,
            "runs_detail": {
                name: [r.as_dict() for r in result] for name, result in runs_by_case.items()
            },
            "moviepy": [r.as_dict() for r in moviepy_runs],
            "ratios": ratios,
            "peak_rss_mb": rss,
            "peak_tree_rss_mb": tree,
            "scaling": scaling,
            "rss_growth_40_over_10": growth,
            "targets": TARGETS,
        },
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
