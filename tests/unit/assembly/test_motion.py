"""The local motion provider's pure parts: the camera path and the ffmpeg command."""

from __future__ import annotations

import math
import re
from itertools import pairwise
from pathlib import Path

import pytest

from assembly.encoding import ASPECT_SIZES, CLIP_ENCODING
from assembly.motion import MotionPlan, MotionStyle, Window, ease, motion_argv, motion_plan
from assembly.watermark import watermark_overlay_position

PHOTO_SHAPES = [(2048, 1365), (1536, 2048), (2048, 2048), (2048, 878), (256, 1024), (300, 256)]
SEEDS = range(12)


def plans() -> list[MotionPlan]:
    return [
        motion_plan(w, h, out_size=size, duration=5.0, fps=24, seed=seed)
        for (w, h) in PHOTO_SHAPES
        for size in ASPECT_SIZES.values()
        for seed in SEEDS
    ]


def centre(window: Window) -> tuple[float, float]:
    return window.x + window.w / 2, window.y + window.h / 2


def test_ease_starts_and_ends_at_rest_and_is_symmetric() -> None:
    assert ease(0.0) == 0.0
    assert ease(1.0) == 1.0
    assert ease(0.5) == pytest.approx(0.5)
    assert ease(0.25) == pytest.approx(1 - ease(0.75))
    step = 1e-4
    assert ease(step) / step < 0.01
    assert (1 - ease(1 - step)) / step < 0.01


def test_plan_has_one_window_per_frame_from_start_to_end() -> None:
    plan = motion_plan(2048, 1365, out_size=(1280, 720), duration=5.0, fps=24, seed=3)
    windows = plan.windows()
    assert plan.frames == len(windows) == 120
    assert plan.duration == 5.0
    assert windows[0] == plan.start
    assert windows[-1] == plan.end


def test_windows_stay_inside_the_photo() -> None:
    for plan in plans():
        photo_w, photo_h = plan.photo_size
        for window in plan.windows():
            assert window.x >= -1e-9 and window.y >= -1e-9
            assert window.x + window.w <= photo_w + 1e-9
            assert window.y + window.h <= photo_h + 1e-9


def test_windows_keep_the_output_aspect() -> None:
    for plan in plans():
        out_w, out_h = plan.out_size
        for window in plan.windows():
            assert window.w / window.h == pytest.approx(out_w / out_h, rel=1e-9)


def test_every_window_edge_moves_monotonically() -> None:
    for plan in plans():
        windows = plan.windows()
        for edge in (
            [w.x for w in windows],
            [w.y for w in windows],
            [w.x + w.w for w in windows],
            [w.y + w.h for w in windows],
        ):
            steps = [b - a for a, b in pairwise(edge)]
            assert all(s >= -1e-9 for s in steps) or all(s <= 1e-9 for s in steps)


def test_motion_eases_in_and_out_without_sudden_changes_of_speed() -> None:
    for plan in plans():
        centres = [centre(w) for w in plan.windows()]
        sizes = [w.w for w in plan.windows()]
        # Per-frame travel of the centre and of the width, in photo pixels.
        speeds = [
            math.dist(a, b) + abs(wb - wa)
            for (a, b), (wa, wb) in zip(pairwise(centres), pairwise(sizes), strict=True)
        ]
        top = max(speeds)
        assert top > 0
        assert speeds[0] < 0.05 * top and speeds[-1] < 0.05 * top
        average = sum(speeds) / len(speeds)
        assert top <= 1.5 * average * 1.01
        for a, b in pairwise(speeds):
            assert abs(b - a) <= 0.05 * top


def test_motion_is_gentle() -> None:
    for plan in plans():
        assert 1.0 <= plan.max_zoom <= 1.25
        out_per_photo_px = plan.out_size[0] / min(plan.start.w, plan.end.w)
        centres = [centre(w) for w in plan.windows()]
        fastest = max(math.dist(a, b) for a, b in pairwise(centres))
        assert fastest * out_per_photo_px < 4.0  # output pixels per frame


def test_windows_take_fractional_positions() -> None:
    plan = motion_plan(2048, 1365, out_size=(1280, 720), duration=5.0, fps=24, seed=5)
    positions = [v for w in plan.windows()[1:-1] for v in (w.x, w.y, w.w)]
    fractional = [v for v in positions if abs(v - round(v)) > 0.01]
    assert len(fractional) > 0.8 * len(positions)


def test_same_seed_gives_the_same_plan() -> None:
    a = motion_plan(1600, 1200, out_size=(960, 960), duration=5.0, fps=24, seed=42)
    b = motion_plan(1600, 1200, out_size=(960, 960), duration=5.0, fps=24, seed=42)
    assert a == b


def test_seeds_vary_style_and_direction() -> None:
    plans = [
        motion_plan(2048, 1365, out_size=(1280, 720), duration=5.0, fps=24, seed=seed)
        for seed in range(16)
    ]
    assert {p.style for p in plans} == set(MotionStyle)
    directions = set()
    for p in plans:
        (sx, sy), (ex, ey) = centre(p.start), centre(p.end)
        directions.add((ex > sx, ey > sy))
    assert len(directions) >= 3
    assert len({round(p.max_zoom, 4) for p in plans}) >= 10


def test_zooming_plans_include_the_whole_cover_crop() -> None:
    for plan in plans():
        if plan.style is MotionStyle.PAN:
            continue
        whole = plan.start if plan.style is MotionStyle.ZOOM_IN else plan.end
        photo_w, photo_h = plan.photo_size
        out_w, out_h = plan.out_size
        assert max(whole.w / photo_w, whole.h / photo_h) == pytest.approx(1.0)
        assert whole.w / whole.h == pytest.approx(out_w / out_h)


def test_plan_rejects_a_clip_too_short_to_move() -> None:
    with pytest.raises(ValueError, match="too short"):
        motion_plan(2048, 1365, out_size=(1280, 720), duration=0.04, fps=24, seed=0)


# --- motion_argv -------------------------------------------------------------------------


def argv_for(**overrides: object) -> list[str]:
    kwargs: dict[str, object] = {"aspect": "16:9", "photo_size": (2048, 1365), "seed": 1}
    kwargs.update(overrides)
    return motion_argv(Path("in/photo.jpg"), Path("out/clip.mp4"), **kwargs)  # type: ignore[arg-type]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_argv_encodes_with_the_clip_settings_into_the_output() -> None:
    argv = argv_for()
    encoding = CLIP_ENCODING.video_args()
    start = argv.index(encoding[0])
    assert argv[start : start + len(encoding)] == encoding
    assert argv[-1] == "out/clip.mp4"
    assert option(argv, "-i") == "in/photo.jpg"
    assert option(argv, "-frames:v") == "120"


def test_argv_decodes_the_photo_once_and_resamples_with_subpixel_perspective() -> None:
    graph = option(argv_for(), "-filter_complex")
    assert "zoompan" not in graph
    assert "-loop" not in argv_for()
    assert re.search(r"loop=loop=119:size=1", graph)
    assert "perspective=" in graph and "eval=frame" in graph


def test_argv_counts_the_intro_in_frames_and_holds_it_before_the_motion() -> None:
    argv = argv_for(intro_seconds=0.5)
    assert option(argv, "-frames:v") == "132"
    graph = option(argv, "-filter_complex")
    # Progress is clipped to 0 until the 13th output frame (perspective counts from 1).
    assert "clip((on-13)/119,0,1)" in graph


@pytest.mark.parametrize("aspect", sorted(ASPECT_SIZES))
@pytest.mark.parametrize("photo_size", [(2048, 1536), (1536, 2048), (640, 427)])
def test_argv_scales_the_photo_once_to_cover_the_output_size(
    aspect: str, photo_size: tuple[int, int]
) -> None:
    out_w, out_h = ASPECT_SIZES[aspect]
    graph = option(argv_for(aspect=aspect, photo_size=photo_size), "-filter_complex")
    scaled = re.search(r"scale=(\d+):(\d+):flags=lanczos,crop=(\d+):(\d+):(\d+):(\d+),", graph)
    assert scaled is not None
    scaled_w, scaled_h, crop_w, crop_h, crop_x, crop_y = map(int, scaled.groups())
    assert (crop_w, crop_h) == (out_w, out_h)
    # Scaled without distortion, just enough to cover, and cropped from the centre.
    assert scaled_w / scaled_h == pytest.approx(photo_size[0] / photo_size[1], rel=0.01)
    assert min(scaled_w - out_w, scaled_h - out_h) <= 1
    assert abs(crop_x - (scaled_w - out_w) / 2) <= 1
    assert abs(crop_y - (scaled_h - out_h) / 2) <= 1
    assert graph.index("loop=") > graph.index("crop=")


def test_argv_overlays_the_watermark_where_the_layout_says() -> None:
    argv = argv_for(watermark=Path("wm.png"), watermark_size=(184, 46))
    assert argv.count("-i") == 2
    assert argv[argv.index("-i", argv.index("-i") + 1) + 1] == "wm.png"
    x, y = watermark_overlay_position(1280, 720, 184, 46)
    assert f"overlay=x={x}:y={y}" in option(argv, "-filter_complex")


def test_argv_needs_the_watermark_size_with_the_watermark() -> None:
    with pytest.raises(ValueError):
        argv_for(watermark=Path("wm.png"))


def test_argv_rejects_an_unknown_aspect_and_a_negative_intro() -> None:
    with pytest.raises(ValueError, match="aspect"):
        argv_for(aspect="4:3")
    with pytest.raises(ValueError):
        argv_for(intro_seconds=-0.5)
