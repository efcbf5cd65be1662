"""The local motion provider: a slow pan-and-zoom ("Ken Burns") over a still photo.

This is not AI and does not pretend to be. Nothing in the picture moves; a virtual camera
drifts over the photo. It is what Echoes uses when no image-to-video provider is
configured, and it is labelled as such wherever it is offered.

How a clip is made — one ffmpeg invocation, one encode:

1. The photo is decoded once, cropped to the output aspect (cover: centred, no
   distortion) and scaled once, with Lanczos, to the output size.
2. ``loop`` repeats that one decoded frame, and ``perspective`` resamples each repeat
   from a crop window whose corners are per-frame expressions of the frame number. The
   window is fractional — ``perspective`` interpolates bilinearly at 1/256 pixel — so the
   motion is sub-pixel smooth. (``zoompan`` rounds its window to whole pixels, which makes
   slow motion visibly stutter; that is why it is not used.) Windows are never larger
   than the canvas, so resampling only ever magnifies and cannot alias.
3. An optional watermark is overlaid and the frames are encoded with
   :data:`CLIP_ENCODING`.

An optional intro holds the motion's first frame still before the motion starts, so the
free-try clip (intro + motion + watermark) needs no second encode.

Cost, from ``bench/local_motion.py`` and the measurements behind this choice (5 s,
1280x720, from a 2048 px photo, 2 cores): ffmpeg's CPU time is about 0.75x that of
encoding 5 s of the still photo at the same settings, because the still is re-decoded
and re-scaled for every frame while we decode once. Working on a canvas oversampled by
the zoom (then scaling down per frame) cost 1.1x the still's CPU for a gain of about
0.2 dB PSNR against an ideal Lanczos rendering, invisible in the clip; cubic instead of
bilinear interpolation cost 1.05x for no measurable gain. Neither was worth it.
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable
from pathlib import Path

import msgspec
from PIL import Image

from assembly.encoding import CLIP_ENCODING, size_for_aspect
from assembly.ffmpeg import ffmpeg_cmd
from assembly.process import atomic_output, run_ffmpeg
from assembly.watermark import watermark_overlay_position

DEFAULT_DURATION = 5.0

# How far the camera travels. A zoom of 1.0 shows the whole cover crop of the photo;
# larger values show a smaller window. Kept small so the motion stays calm: at most
# about 3 output pixels per frame at the fastest point.
_ZOOM_RANGE = (1.10, 1.18)
_PAN_ZOOM_RANGE = (1.12, 1.20)
# Share of the available slack the window's centre travels (1.0 = edge to edge).
_ZOOM_REACH_RANGE = (0.4, 1.0)
_PAN_REACH_RANGE = (0.7, 1.0)


class MotionStyle(enum.StrEnum):
    ZOOM_IN = "zoom_in"
    ZOOM_OUT = "zoom_out"
    PAN = "pan"


class Window(msgspec.Struct, frozen=True):
    """A crop window in photo pixel coordinates (edges, not pixel centres)."""

    x: float
    y: float
    w: float
    h: float

    def lerp(self, other: Window, t: float) -> Window:
        return Window(
            self.x + (other.x - self.x) * t,
            self.y + (other.y - self.y) * t,
            self.w + (other.w - self.w) * t,
            self.h + (other.h - self.h) * t,
        )


def ease(p: float) -> float:
    """Smoothstep ease-in-out: starts and ends at rest, fastest (1.5x average) midway."""
    p = min(1.0, max(0.0, p))
    return p * p * (3 - 2 * p)


class MotionPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The camera path of one clip: a crop window per frame, eased from ``start`` to ``end``.

    Windows are linear in the eased progress, so every edge moves monotonically, and the
    per-frame ffmpeg expressions built by :func:`motion_argv` follow :meth:`window` to the
    frame.
    """

    photo_size: tuple[int, int]
    out_size: tuple[int, int]
    fps: int
    frames: int
    style: MotionStyle
    start: Window
    end: Window

    @property
    def duration(self) -> float:
        return self.frames / self.fps

    @property
    def max_zoom(self) -> float:
        """Largest zoom of the plan relative to the cover crop of the photo."""
        cover_w = _cover_size(*self.photo_size, *self.out_size)[0]
        return cover_w / min(self.start.w, self.end.w)

    def progress(self, frame: int) -> float:
        """Eased progress (0.0 to 1.0) at ``frame`` (0-based)."""
        return ease(frame / (self.frames - 1))

    def window(self, frame: int) -> Window:
        return self.start.lerp(self.end, self.progress(frame))

    def windows(self) -> list[Window]:
        return [self.window(i) for i in range(self.frames)]


def motion_plan(
    width_in: int,
    height_in: int,
    *,
    out_size: tuple[int, int],
    duration: float = DEFAULT_DURATION,
    fps: int = CLIP_ENCODING.fps,
    seed: int = 0,
) -> MotionPlan:
    """Plan the camera path over a ``width_in`` x ``height_in`` photo.

    The ``seed`` picks the style (zoom in, zoom out or a drift across), the amount of zoom
    and the direction of travel, so a project's clips do not all move alike, while the
    same photo and seed always give the same clip. Every window keeps the output aspect and
    stays inside the centred cover crop of the photo.
    """
    if width_in <= 0 or height_in <= 0:
        raise ValueError(f"bad photo size {width_in}x{height_in}")
    frames = round(duration * fps)
    if frames < 2:
        raise ValueError(f"duration {duration}s at {fps} fps is too short for motion")

    out_w, out_h = out_size
    cover_w, cover_h = _cover_size(width_in, height_in, out_w, out_h)
    cover_x, cover_y = (width_in - cover_w) / 2, (height_in - cover_h) / 2

    rng = random.Random(seed)
    style = rng.choice(list(MotionStyle))
    angle = rng.uniform(0, 2 * math.pi)
    dx, dy = math.cos(angle), math.sin(angle)

    def window_at(zoom: float, fx: float, fy: float) -> Window:
        """The window at ``zoom`` whose position is a fraction (0..1) of the slack."""
        w, h = cover_w / zoom, cover_h / zoom
        return Window(cover_x + fx * (cover_w - w), cover_y + fy * (cover_h - h), w, h)

    if style is MotionStyle.PAN:
        zoom = rng.uniform(*_PAN_ZOOM_RANGE)
        reach = rng.uniform(*_PAN_REACH_RANGE) / 2
        start = window_at(zoom, 0.5 - reach * dx, 0.5 - reach * dy)
        end = window_at(zoom, 0.5 + reach * dx, 0.5 + reach * dy)
    else:
        zoom = rng.uniform(*_ZOOM_RANGE)
        reach = rng.uniform(*_ZOOM_REACH_RANGE) / 2
        whole = window_at(1.0, 0.5, 0.5)
        detail = window_at(zoom, 0.5 + reach * dx, 0.5 + reach * dy)
        start, end = (whole, detail) if style is MotionStyle.ZOOM_IN else (detail, whole)

    return MotionPlan(
        photo_size=(width_in, height_in),
        out_size=(out_w, out_h),
        fps=fps,
        frames=frames,
        style=style,
        start=start,
        end=end,
    )


def motion_argv(
    photo: Path,
    out: Path,
    *,
    aspect: str,
    photo_size: tuple[int, int],
    duration: float = DEFAULT_DURATION,
    seed: int = 0,
    intro_seconds: float = 0.0,
    watermark: Path | None = None,
    watermark_size: tuple[int, int] | None = None,
) -> list[str]:
    """The ffmpeg command that renders the motion clip of ``photo`` into ``out``.

    ``photo_size`` is the photo's (width, height) in pixels, already upright. The clip is
    ``intro_seconds`` of the first frame held still, then ``duration`` seconds of motion;
    ``watermark`` (a PNG of ``watermark_size``) is overlaid bottom-right on every frame.
    """
    if intro_seconds < 0:
        raise ValueError("intro_seconds must not be negative")
    if (watermark is None) != (watermark_size is None):
        raise ValueError("watermark and watermark_size go together")
    out_w, out_h = size_for_aspect(aspect)
    fps = CLIP_ENCODING.fps
    plan = motion_plan(*photo_size, out_size=(out_w, out_h), duration=duration, fps=fps, seed=seed)
    intro_frames = round(intro_seconds * fps)
    total_frames = intro_frames + plan.frames

    canvas = _Canvas.for_plan(plan)
    motion = (
        f"[0:v]scale={canvas.scaled_w}:{canvas.scaled_h}:flags=lanczos,"
        f"crop={canvas.w}:{canvas.h}:{canvas.crop_x}:{canvas.crop_y},"
        "format=yuv420p,setsar=1,"
        f"loop=loop={total_frames - 1}:size=1,"
        + _perspective_filter(plan, canvas, first_motion_frame=intro_frames)
    )
    inputs = ["-framerate", str(fps), "-i", str(photo)]
    if watermark is not None and watermark_size is not None:
        x, y = watermark_overlay_position(out_w, out_h, *watermark_size)
        inputs += ["-i", str(watermark)]
        graph = f"{motion}[motion];[motion][1:v]overlay=x={x}:y={y}:eof_action=repeat[v]"
    else:
        graph = f"{motion}[v]"
    return ffmpeg_cmd(
        *inputs,
        "-filter_complex", graph,
        "-map", "[v]",
        "-frames:v", str(total_frames),
        "-map_metadata", "-1",
        *CLIP_ENCODING.video_args(),
        str(out),
    )


async def render_motion(
    photo: Path,
    out: Path,
    *,
    aspect: str,
    duration: float = DEFAULT_DURATION,
    seed: int = 0,
    intro_seconds: float = 0.0,
    watermark: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> None:
    """Render the motion clip of a normalised photo (upright RGB JPEG) into ``out``.

    With ``intro_seconds`` the first frame is held that long before the motion starts;
    with ``watermark`` (an RGBA PNG sized for the output, see
    :func:`assembly.watermark.render_watermark_png`) it is overlaid on every frame; both
    happen in the same single encode. ``out`` appears only when complete: a failed or
    cancelled render leaves nothing behind (and no ffmpeg process).
    """
    photo, out = Path(photo), Path(out)
    photo_size = _image_size(photo)
    watermark_size = _image_size(watermark) if watermark is not None else None
    with atomic_output(out) as tmp:
        argv = motion_argv(
            photo,
            tmp,
            aspect=aspect,
            photo_size=photo_size,
            duration=duration,
            seed=seed,
            intro_seconds=intro_seconds,
            watermark=watermark,
            watermark_size=watermark_size,
        )
        await run_ffmpeg(argv, progress=progress, total_seconds=intro_seconds + duration)


def _image_size(path: Path) -> tuple[int, int]:
    """Pixel size of an image file; reads the header only."""
    with Image.open(path) as image:
        return image.size


def _cover_size(width_in: float, height_in: float, out_w: int, out_h: int) -> tuple[float, float]:
    """Largest (w, h) with the output's aspect that fits inside the photo."""
    cover_w = min(float(width_in), height_in * out_w / out_h)
    return cover_w, cover_w * out_h / out_w


class _Canvas(msgspec.Struct, frozen=True, kw_only=True):
    """The frame ``perspective`` draws on: the photo's cover crop, scaled once to output size.

    The photo is scaled to ``scaled_w`` x ``scaled_h`` (so its cover crop is exactly the
    output size, up to rounding) and cropped at ``crop_x``, ``crop_y``; :meth:`to_canvas`
    maps a photo-space :class:`Window` through both steps.
    """

    w: int
    h: int
    scaled_w: int
    scaled_h: int
    crop_x: int
    crop_y: int

    @classmethod
    def for_plan(cls, plan: MotionPlan) -> _Canvas:
        photo_w, photo_h = plan.photo_size
        w, h = plan.out_size
        cover_w, cover_h = _cover_size(photo_w, photo_h, w, h)
        scale = w / cover_w
        scaled_w = max(w, round(photo_w * scale))
        scaled_h = max(h, round(photo_h * scale))
        crop_x = min(scaled_w - w, max(0, round((photo_w - cover_w) / 2 * scaled_w / photo_w)))
        crop_y = min(scaled_h - h, max(0, round((photo_h - cover_h) / 2 * scaled_h / photo_h)))
        return cls(w=w, h=h, scaled_w=scaled_w, scaled_h=scaled_h, crop_x=crop_x, crop_y=crop_y)

    def to_canvas(self, window: Window, photo_size: tuple[int, int]) -> Window:
        sx = self.scaled_w / photo_size[0]
        sy = self.scaled_h / photo_size[1]
        return Window(
            window.x * sx - self.crop_x, window.y * sy - self.crop_y, window.w * sx, window.h * sy
        )


def _perspective_filter(plan: MotionPlan, canvas: _Canvas, *, first_motion_frame: int) -> str:
    """``perspective`` with corner expressions that follow ``plan`` frame by frame.

    ``perspective`` maps output pixel ``x`` to source position ``x0 + x * (x1 - x0) / W``;
    the corners are shifted so that output pixel *centres* land on the window's pixel
    centres. Before ``first_motion_frame`` the progress is held at 0 (the intro).
    """
    # `on` is perspective's 1-based output frame number.
    p = f"clip((on-{first_motion_frame + 1})/{plan.frames - 1},0,1)"
    eased = f"(st(0,{p});ld(0)*ld(0)*(3-2*ld(0)))"

    def corners(window: Window) -> tuple[float, float, float, float]:
        c = canvas.to_canvas(window, plan.photo_size)
        left = c.x + 0.5 * c.w / canvas.w - 0.5
        top = c.y + 0.5 * c.h / canvas.h - 0.5
        return left, top, left + c.w, top + c.h

    def lerp(a: float, b: float) -> str:
        return f"'{a:.6f}+{b - a:.6f}*{eased}'"

    (l0, t0, r0, b0), (l1, t1, r1, b1) = corners(plan.start), corners(plan.end)
    left, top, right, bottom = lerp(l0, l1), lerp(t0, t1), lerp(r0, r1), lerp(b0, b1)
    return (
        f"perspective=x0={left}:y0={top}:x1={right}:y1={top}"
        f":x2={left}:y2={bottom}:x3={right}:y3={bottom}"
        ":interpolation=linear:sense=source:eval=frame"
    )
