"""Title cards and captions, drawn with Pillow and the fonts that ship with Echoes.

ffmpeg's ``drawtext`` needs a libfreetype build and a system font; drawing the text here
and overlaying a PNG works with any ffmpeg and looks the same everywhere.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from assembly.fonts import font_path

TITLE_BACKGROUND = (18, 18, 22)
TITLE_COLOUR = (245, 242, 235)
SUBTITLE_COLOUR = (190, 186, 178)
CAPTION_COLOUR = (255, 255, 255, 255)
CAPTION_BACKDROP = (0, 0, 0, 150)


@dataclass(frozen=True, slots=True)
class CaptionImage:
    """A caption PNG and where its top-left corner goes on the frame."""

    png: bytes
    x: int
    y: int
    width: int
    height: int


def render_title_card_png(text: str, subtitle: str | None, width: int, height: int) -> bytes:
    """An opaque ``width`` x ``height`` PNG: the title (and subtitle) centred on a dark card."""
    image = Image.new("RGB", (width, height), TITLE_BACKGROUND)
    draw = ImageDraw.Draw(image)
    short = min(width, height)
    max_text_width = int(width * 0.84)

    title_font, title_lines = _fit(
        text, "semibold", round(short * 0.09), max_text_width, max_lines=3
    )
    blocks: list[tuple[ImageFont.FreeTypeFont, list[str], tuple[int, int, int]]] = [
        (title_font, title_lines, TITLE_COLOUR)
    ]
    if subtitle and subtitle.strip():
        sub_font, sub_lines = _fit(
            subtitle, "regular", round(short * 0.045), max_text_width, max_lines=2
        )
        blocks.append((sub_font, sub_lines, SUBTITLE_COLOUR))

    gap = round(short * 0.035)
    heights = [_block_height(font, lines) for font, lines, _ in blocks]
    y = (height - sum(heights) - gap * (len(blocks) - 1)) / 2
    for (font, lines, colour), block_height in zip(blocks, heights, strict=True):
        _draw_lines(draw, lines, font, colour, width / 2, y)
        y += block_height + gap
    return _png(image)


def render_caption_png(text: str, frame_width: int, frame_height: int) -> CaptionImage:
    """A caption: white text on a translucent dark band, placed bottom-centre.

    The PNG is only as large as the band, so overlaying it costs little per frame.
    Coordinates are even so the overlay lines up with yuv420p chroma.
    """
    short = min(frame_width, frame_height)
    font, lines = _fit(
        text, "semibold", max(12, round(short * 0.05)), int(frame_width * 0.8), max_lines=2
    )
    pad_x, pad_y = round(font.size * 0.7), round(font.size * 0.4)
    text_width = max(_line_width(font, line) for line in lines)
    band_w = _even(min(frame_width, text_width + 2 * pad_x))
    band_h = _even(_block_height(font, lines) + 2 * pad_y)

    image = Image.new("RGBA", (band_w, band_h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (0, 0, band_w - 1, band_h - 1), radius=round(band_h * 0.25), fill=CAPTION_BACKDROP
    )
    _draw_lines(draw, lines, font, CAPTION_COLOUR, band_w / 2, pad_y)

    x = _even((frame_width - band_w) / 2)
    y = _even(frame_height - band_h - short * 0.06)
    return CaptionImage(_png(image), x, y, band_w, band_h)


def _fit(
    text: str, weight: str, size: int, max_width: int, *, max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font (down to 40 % of ``size``) at which ``text`` wraps into
    ``max_lines`` lines of at most ``max_width`` pixels."""
    path = str(font_path(weight))
    floor = max(8, round(size * 0.4))
    while True:
        font = ImageFont.truetype(path, size)
        lines = _wrap(text, font, max_width)
        if (
            len(lines) <= max_lines and all(_line_width(font, line) <= max_width for line in lines)
        ) or size <= floor:
            return font, lines[:max_lines]
        size = max(floor, round(size * 0.9))


def _wrap(text: str, font: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.strip().splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}".strip()
            if current and _line_width(font, candidate) > max_width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def _line_width(font: ImageFont.FreeTypeFont, line: str) -> int:
    return round(font.getlength(line))


def _line_height(font: ImageFont.FreeTypeFont) -> int:
    ascent, descent = font.getmetrics()
    return round((ascent + descent) * 1.1)


def _block_height(font: ImageFont.FreeTypeFont, lines: list[str]) -> int:
    return _line_height(font) * len(lines)


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    colour: tuple[int, ...],
    centre_x: float,
    top: float,
) -> None:
    for i, line in enumerate(lines):
        draw.text(
            (centre_x, top + i * _line_height(font)), line, font=font, fill=colour, anchor="ma"
        )


def _even(value: float) -> int:
    n = round(value)
    return n - n % 2


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
