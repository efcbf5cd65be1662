"""``python -m assembly render``: the assembly engine as a command-line tool.

The flag names are the tool's public interface; keep them stable.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import msgspec
import structlog

from assembly.process import FFmpegError
from assembly.render import RenderMode
from assembly.render.join import SmartRenderError
from assembly.runner import RenderResult, render
from assembly.timeline import (
    Clip,
    IntroStill,
    Music,
    Timeline,
    TitleCard,
    Transition,
    TransitionKind,
    Watermark,
    WatermarkCorner,
    decode_timeline,
)

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}"
        ) from None
    return width, height


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("seconds cannot be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m assembly",
        description="Echoes assembly engine: stitch clips, transitions and music into one MP4.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    r = commands.add_parser(
        "render",
        help="render clips into one video",
        description=(
            "Render clips, in the order given, into one MP4 (H.264 + AAC, +faststart) and a "
            "poster JPEG. Untouched clip bodies are stream-copied when possible (smart "
            "render); otherwise everything is encoded in one ffmpeg pass (full render)."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    r.add_argument(
        "--clip",
        action="append",
        default=[],
        metavar="PATH",
        help="a video clip; repeat for each clip, in playing order",
    )
    r.add_argument(
        "--timeline",
        type=Path,
        metavar="JSON",
        help="read the whole timeline from a JSON file (assembly.timeline.Timeline) "
        "instead of building it from the flags below",
    )
    r.add_argument("--out", type=Path, required=True, metavar="PATH", help="the MP4 to write")
    r.add_argument(
        "--poster",
        type=Path,
        metavar="PATH",
        help="where to write the poster JPEG (default: the output path with .jpg)",
    )
    r.add_argument(
        "--size", type=_size, default=(1280, 720), metavar="WxH", help="output size in pixels"
    )
    r.add_argument("--fps", type=int, default=24, help="output frame rate")
    r.add_argument(
        "--transition",
        choices=[k.value for k in TransitionKind],
        default="crossfade",
        help="transition between neighbouring clips",
    )
    r.add_argument(
        "--transition-duration",
        type=_seconds,
        default=0.5,
        metavar="SECONDS",
        help="how long neighbouring clips overlap (ignored for cut)",
    )
    r.add_argument(
        "--caption",
        action="append",
        default=[],
        metavar="TEXT",
        help="caption for the clip at the same position (repeat per clip; '' for none)",
    )
    r.add_argument("--title", metavar="TEXT", help="show a title card with this text first")
    r.add_argument("--subtitle", metavar="TEXT", help="smaller second line on the title card")
    r.add_argument(
        "--title-duration",
        type=_seconds,
        default=2.5,
        metavar="SECONDS",
        help="how long the title card shows",
    )
    r.add_argument("--intro", metavar="IMAGE", help="hold this still image before the first clip")
    r.add_argument(
        "--intro-duration",
        type=_seconds,
        default=0.5,
        metavar="SECONDS",
        help="how long the intro still shows",
    )
    r.add_argument("--music", metavar="PATH", help="music track (any format ffmpeg reads)")
    r.add_argument(
        "--music-start",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="start the track this far in",
    )
    r.add_argument(
        "--music-volume",
        type=float,
        default=1.0,
        metavar="GAIN",
        help="gain applied after loudness normalisation (1 = -16 LUFS)",
    )
    r.add_argument(
        "--music-fade-in", type=_seconds, default=0.0, metavar="SECONDS", help="music fade-in"
    )
    r.add_argument(
        "--music-fade-out",
        type=_seconds,
        default=2.0,
        metavar="SECONDS",
        help="music fade-out at the end of the video",
    )
    r.add_argument(
        "--beat-sync",
        action="store_true",
        help="trim clips so every cut lands on a beat of the music (needs --music)",
    )
    r.add_argument("--watermark", metavar="PNG", help="overlay this PNG on every frame")
    r.add_argument(
        "--watermark-corner",
        choices=[c.value for c in WatermarkCorner],
        default=WatermarkCorner.BOTTOM_RIGHT.value,
        help="where the watermark sits",
    )
    r.add_argument(
        "--watermark-opacity", type=float, default=1.0, metavar="0..1", help="watermark opacity"
    )
    r.add_argument(
        "--mode",
        choices=[m.value for m in RenderMode],
        default="auto",
        help="smart (copy untouched clip bodies), full (encode everything) or auto",
    )
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def timeline_from_args(args: argparse.Namespace) -> Timeline:
    """The timeline the flags describe (raises ``ValueError`` when they make no sense)."""
    if args.timeline is not None:
        if args.clip:
            raise ValueError("give either --timeline or --clip, not both")
        try:
            return decode_timeline(args.timeline.read_bytes())
        except msgspec.ValidationError as error:
            raise ValueError(f"{args.timeline}: {error}") from None
    if not args.clip:
        raise ValueError("at least one --clip is needed")
    if len(args.caption) > len(args.clip):
        raise ValueError(f"{len(args.caption)} captions for {len(args.clip)} clips")
    captions = [*args.caption, *[""] * (len(args.clip) - len(args.caption))]
    width, height = args.size
    try:
        return Timeline(
            clips=[
                Clip(path=path, caption=caption or None)
                for path, caption in zip(args.clip, captions, strict=True)
            ],
            width=width,
            height=height,
            fps=args.fps,
            transition=Transition(
                kind=TransitionKind(args.transition), duration=args.transition_duration
            ),
            title=TitleCard(text=args.title, subtitle=args.subtitle, duration=args.title_duration)
            if args.title
            else None,
            intro=IntroStill(path=args.intro, duration=args.intro_duration) if args.intro else None,
            music=Music(
                path=args.music,
                start=args.music_start,
                volume=args.music_volume,
                fade_in=args.music_fade_in,
                fade_out=args.music_fade_out,
            )
            if args.music
            else None,
            watermark=Watermark(
                path=args.watermark,
                corner=WatermarkCorner(args.watermark_corner),
                opacity=args.watermark_opacity,
            )
            if args.watermark
            else None,
        )
    except (TypeError, msgspec.ValidationError) as error:
        raise ValueError(str(error)) from None


class ProgressBar:
    """A one-line progress bar on a terminal (plain percentage lines otherwise)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.started = time.monotonic()
        self.interactive = stream.isatty()
        self._last = -1

    def __call__(self, fraction: float) -> None:
        percent = int(fraction * 100)
        if percent == self._last:
            return
        self._last = percent
        if self.interactive:
            filled = round(fraction * self.WIDTH)
            elapsed = time.monotonic() - self.started
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {percent:3d}%  {elapsed:5.1f}s"
            )
        elif percent % 10 == 0:
            self.stream.write(f"{percent}%\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        timeline = timeline_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    if args.beat_sync and timeline.music is None:
        parser.error("--beat-sync needs --music")

    # The engine logs its decisions; on a terminal only warnings belong beside the bar.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    bar = None if args.quiet else ProgressBar(sys.stderr)
    try:
        result = asyncio.run(
            render(
                timeline,
                args.out,
                mode=RenderMode(args.mode),
                poster=args.poster,
                progress=bar,
                beat_sync=args.beat_sync,
            )
        )
    except KeyboardInterrupt:
        if bar:
            bar.finish()
        print("interrupted; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, FFmpegError, SmartRenderError) as error:
        if bar:
            bar.finish()
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if bar:
        bar.finish()
    print(_summary(result))
    return 0


def _summary(result: RenderResult) -> str:
    return (
        f"{result.output}: {result.duration:.2f} s, {result.frames} frames, "
        f"{result.mode} render ({result.reason}), {result.encoded_frames} frames encoded, "
        f"took {result.seconds:.1f} s; poster {result.poster}"
    )
