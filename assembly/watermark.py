"""The "Echoes" watermark on free-try clips.

The mark is drawn with Pillow and the shipped Inter font (no libfreetype-enabled ffmpeg
needed) as an RGBA PNG that ffmpeg's ``overlay`` filter puts in the bottom-right corner.
It has to stay legible on any photo, so it is white text on a translucent dark pill: on a
light photo the pill carries the contrast, on a dark photo the white text does.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from assembly.fonts import font_path

WORDMARK = "Echoes"

# Text size as a share of the frame height, capped by the frame width so the mark stays
# modest on tall (9:16) frames.
_TEXT_SHARE_OF_HEIGHT = 0.045
_TEXT_SHARE_OF_WIDTH = 0.05
_MARGIN_SHARE_OF_SHORT_SIDE = 0.03
_PILL_ALPHA = 128
_TEXT_ALPHA = 240
_SHADOW_ALPHA = 150
# Drawn this many times larger, then downsampled: Pillow's shapes are not antialiased.
_SUPERSAMPLE = 4


def watermark_font_size(frame_width: int, frame_height: int) -> int:
    """Pixel size of the wordmark's font for a frame of this size."""
    share = min(frame_height * _TEXT_SHARE_OF_HEIGHT, frame_width * _TEXT_SHARE_OF_WIDTH)
    return max(10, round(share))


def watermark_margin(frame_width: int, frame_height: int) -> int:
    """Gap between the watermark and the frame's bottom and right edges (even pixels)."""
    return _even(min(frame_width, frame_height) * _MARGIN_SHARE_OF_SHORT_SIDE)


def watermark_overlay_position(
    frame_w: int, frame_h: int, png_w: int, png_h: int
) -> tuple[int, int]:
    """Top-left corner at which a ``png_w`` x ``png_h`` watermark sits on the frame.

    Bottom-right with :func:`watermark_margin` to spare, on even coordinates so the
    watermark lines up with yuv420p's 2x2 chroma blocks.
    """
    if png_w > frame_w or png_h > frame_h:
        raise ValueError(f"watermark {png_w}x{png_h} does not fit a {frame_w}x{frame_h} frame")
    margin = watermark_margin(frame_w, frame_h)
    x = max(0, frame_w - png_w - margin)
    y = max(0, frame_h - png_h - margin)
    return x - x % 2, y - y % 2


@functools.lru_cache(maxsize=8)
def render_watermark_png(frame_width: int, frame_height: int) -> bytes:
    """PNG bytes (RGBA, even width and height) of the watermark for a frame of this size."""
    if frame_width <= 0 or frame_height <= 0:
        raise ValueError(f"bad frame size {frame_width}x{frame_height}")
    return _encode_png(_render(frame_width, frame_height))


def _render(frame_width: int, frame_height: int) -> Image.Image:
    ss = _SUPERSAMPLE
    size = watermark_font_size(frame_width, frame_height)
    font = ImageFont.truetype(str(font_path("semibold")), size * ss)
    left, top, right, bottom = font.getbbox(WORDMARK)
    text_w, text_h = right - left, bottom - top

    mark_h = 0.95 * text_h
    mark_w = _MARK_WIDTH_PER_HEIGHT * mark_h
    pad_x, pad_y, gap = 0.55 * size * ss, 0.34 * size * ss, 0.3 * size * ss
    content_w = mark_w + gap + text_w
    width = _even_up((content_w + 2 * pad_x) / ss) * ss
    height = _even_up((text_h + 2 * pad_y) / ss) * ss

    pill = Image.new("L", (width, height), 0)
    ImageDraw.Draw(pill).rounded_rectangle(
        (0, 0, width - 1, height - 1), radius=height // 2, fill=_PILL_ALPHA
    )

    glyphs = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(glyphs)
    x0 = (width - content_w) / 2
    cy = height / 2
    _draw_mark(draw, x0, cy, mark_h)
    draw.text((x0 + mark_w + gap - left, cy - text_h / 2 - top), WORDMARK, font=font, fill=255)

    # A soft shadow under the glyphs keeps their edges crisp where the pill is faint.
    shadow = glyphs.filter(ImageFilter.GaussianBlur(radius=0.08 * size * ss))

    out_size = (width // ss, height // ss)
    pill, shadow, glyphs = (
        im.resize(out_size, Image.Resampling.LANCZOS) for im in (pill, shadow, glyphs)
    )
    return _compose(pill, shadow, glyphs)


def _compose(pill: Image.Image, shadow: Image.Image, glyphs: Image.Image) -> Image.Image:
    """Stack the black pill, the black shadow and the white glyphs into straight-alpha RGBA."""
    p = np.asarray(pill, dtype=np.float32) / 255
    s = np.asarray(shadow, dtype=np.float32) / 255 * (_SHADOW_ALPHA / 255)
    g = np.asarray(glyphs, dtype=np.float32) / 255 * (_TEXT_ALPHA / 255)
    dark = p + s * (1 - p)
    alpha = g + dark * (1 - g)
    # Straight alpha: a pixel's colour is the white share of what covers it.
    white = np.divide(g, alpha, out=np.zeros_like(alpha), where=alpha > 0)
    rgb = np.rint(white * 255).astype(np.uint8)
    a = np.rint(alpha * 255).astype(np.uint8)
    return Image.fromarray(np.dstack([rgb, rgb, rgb, a]), "RGBA")


# The mark's width for a height of 1: a dot of radius 0.16 plus arcs reaching 0.9 past it.
_MARK_WIDTH_PER_HEIGHT = 0.16 + 0.9 + 0.06


def _draw_mark(draw: ImageDraw.ImageDraw, x: float, cy: float, h: float) -> None:
    """A dot with two arcs spreading to its right: a sound and its echoes."""
    r_dot = 0.16 * h
    cx = x + r_dot
    draw.ellipse((cx - r_dot, cy - r_dot, cx + r_dot, cy + r_dot), fill=255)
    stroke = max(1, round(0.11 * h))
    for radius in (0.52 * h, 0.9 * h):
        # Pillow draws the arc's stroke inward from the bounding circle.
        box = (cx - radius, cy - radius, cx + radius, cy + radius)
        draw.arc(box, start=-42, end=42, fill=255, width=stroke)


def _encode_png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _even(value: float) -> int:
    n = round(value)
    return n - n % 2


def _even_up(value: float) -> int:
    n = int(-(-value // 1))
    return n + n % 2
