"""Images a render overlays — title card, captions, watermark — written into the work dir."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from assembly.render.graph import Assets, Placement
from assembly.render.layout import Layout
from assembly.text import render_caption_png, render_title_card_png
from assembly.timeline import Timeline, Watermark, WatermarkCorner


def watermark_position(
    corner: WatermarkCorner, margin_share: float, frame: tuple[int, int], mark: tuple[int, int]
) -> tuple[int, int]:
    """Top-left corner of a ``mark``-sized watermark in ``corner`` of ``frame``, on even
    pixels (yuv420p chroma), ``margin_share`` of the frame's shorter side from the edges."""
    frame_w, frame_h = frame
    mark_w, mark_h = mark
    if mark_w > frame_w or mark_h > frame_h:
        raise ValueError(f"watermark {mark_w}x{mark_h} does not fit a {frame_w}x{frame_h} frame")
    margin = round(min(frame_w, frame_h) * margin_share)
    left = corner in (WatermarkCorner.TOP_LEFT, WatermarkCorner.BOTTOM_LEFT)
    top = corner in (WatermarkCorner.TOP_LEFT, WatermarkCorner.TOP_RIGHT)
    x = margin if left else frame_w - mark_w - margin
    y = margin if top else frame_h - mark_h - margin
    x, y = max(0, x), max(0, y)
    return x - x % 2, y - y % 2


def place_watermark(watermark: Watermark, frame: tuple[int, int]) -> Placement:
    with Image.open(watermark.path) as image:
        size = image.size
    x, y = watermark_position(watermark.corner, watermark.margin, frame, size)
    return Placement(str(Path(watermark.path).resolve()), x, y)


def prepare_assets(timeline: Timeline, layout: Layout, workdir: Path) -> Assets:
    """Draw the title card and captions into ``workdir`` and place the watermark."""
    frame = (layout.width, layout.height)
    title_png = None
    if timeline.title is not None:
        title_path = workdir / "title.png"
        title_path.write_bytes(
            render_title_card_png(timeline.title.text, timeline.title.subtitle, *frame)
        )
        title_png = str(title_path)
    captions: dict[int, Placement] = {}
    for index, clip in enumerate(timeline.clips):
        if clip.caption and clip.caption.strip():
            caption = render_caption_png(clip.caption, *frame)
            path = workdir / f"caption_{index}.png"
            path.write_bytes(caption.png)
            captions[index] = Placement(str(path), caption.x, caption.y)
    watermark = None
    opacity = 1.0
    if timeline.watermark is not None:
        watermark = place_watermark(timeline.watermark, frame)
        opacity = timeline.watermark.opacity
    return Assets(
        title_png=title_png, captions=captions, watermark=watermark, watermark_opacity=opacity
    )
