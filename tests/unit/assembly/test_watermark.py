"""The free-try watermark: its image, its size and where it goes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from assembly.encoding import ASPECT_SIZES
from assembly.watermark import (
    render_watermark_png,
    watermark_font_size,
    watermark_margin,
    watermark_overlay_position,
)

FRAME_SIZES = sorted(ASPECT_SIZES.values())


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image


def relative_luminance(srgb: np.ndarray) -> np.ndarray:
    c = srgb.astype(np.float64) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a: float, b: float) -> float:
    hi, lo = max(a, b), min(a, b)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_watermark_is_an_rgba_png_with_even_sides(size: tuple[int, int]) -> None:
    image = decode(render_watermark_png(*size))
    assert image.mode == "RGBA"
    assert image.width % 2 == 0 and image.height % 2 == 0


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_watermark_text_is_about_four_to_five_percent_of_the_frame(size: tuple[int, int]) -> None:
    width, height = size
    text = watermark_font_size(width, height)
    # 4.5% of the height, capped on tall frames so the mark stays a corner mark.
    assert 0.04 * min(width, height) <= text <= 0.05 * height
    image = decode(render_watermark_png(width, height))
    assert image.width < width / 3
    assert image.height < 0.1 * height


def test_watermark_is_white_ink_on_a_translucent_dark_pill() -> None:
    rgba = np.asarray(decode(render_watermark_png(1280, 720)))
    rgb, alpha = rgba[..., :3].astype(int), rgba[..., 3]
    ink = (alpha > 220) & (rgb.min(axis=2) > 220)
    pill = (alpha > 60) & (alpha < 200) & (rgb.max(axis=2) < 30)
    assert ink.sum() > 300
    assert pill.sum() > ink.sum()
    # Fully transparent only outside the rounded pill: the corners.
    assert alpha[0, 0] == 0 and alpha[-1, -1] == 0
    assert alpha[alpha.shape[0] // 2, 2] > 0


@pytest.mark.parametrize("background", [(255, 255, 255), (235, 225, 200), (0, 0, 0), (30, 40, 60)])
def test_watermark_text_stands_out_on_light_and_dark_photos(
    background: tuple[int, int, int],
) -> None:
    mark = decode(render_watermark_png(1280, 720))
    base = Image.new("RGBA", mark.size, (*background, 255))
    shown = np.asarray(Image.alpha_composite(base, mark).convert("RGB"))
    rgba = np.asarray(mark)
    ink = (rgba[..., 3] > 220) & (rgba[..., :3].min(axis=2) > 220)
    pill = (rgba[..., 3] > 60) & (rgba[..., :3].max(axis=2) < 30)
    ink_lum = float(np.median(relative_luminance(shown[ink])))
    pill_lum = float(np.median(relative_luminance(shown[pill])))
    # WCAG's minimum for large text is 3:1.
    assert contrast(ink_lum, pill_lum) >= 3.0


def test_watermark_rendering_is_deterministic() -> None:
    assert render_watermark_png(960, 960) == render_watermark_png(960, 960)
    assert render_watermark_png.__wrapped__(960, 960) == render_watermark_png(960, 960)


@pytest.mark.parametrize("size", FRAME_SIZES)
def test_overlay_position_is_bottom_right_inside_the_margin(size: tuple[int, int]) -> None:
    width, height = size
    image = decode(render_watermark_png(width, height))
    x, y = watermark_overlay_position(width, height, image.width, image.height)
    margin = watermark_margin(width, height)
    assert x % 2 == 0 and y % 2 == 0
    assert x + image.width <= width - margin
    assert y + image.height <= height - margin
    assert width - (x + image.width) <= margin + 1
    assert height - (y + image.height) <= margin + 1
    assert x > width / 2 and y > height / 2


def test_overlay_position_refuses_a_watermark_larger_than_the_frame() -> None:
    with pytest.raises(ValueError):
        watermark_overlay_position(320, 240, 400, 40)


def test_watermark_refuses_an_empty_frame() -> None:
    with pytest.raises(ValueError):
        render_watermark_png(0, 720)
