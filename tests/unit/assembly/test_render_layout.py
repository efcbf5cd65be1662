"""Frame arithmetic: where shots sit, what a smart render copies, and which mode is chosen."""

from __future__ import annotations

import msgspec
import pytest

from assembly.render import RenderMode, choose_mode, copyable_clips
from assembly.render.layout import Body, SegmentKind, Window, plan_layout, plan_smart
from assembly.render.media import SourceInfo
from assembly.timeline import (
    Clip,
    IntroStill,
    Timeline,
    TitleCard,
    Transition,
    TransitionKind,
    Watermark,
)

GOP = 12


def source(
    path: str = "a.mp4",
    *,
    frames: int = 120,
    size: tuple[int, int] = (1280, 720),
    fps: int = 24,
    headers: str = "h264-v1",
) -> SourceInfo:
    return SourceInfo(
        path=path,
        codec="h264",
        width=size[0],
        height=size[1],
        pix_fmt="yuv420p",
        frames=frames,
        fps_num=fps,
        fps_den=1,
        cfr=True,
        time_base_num=1,
        time_base_den=12288,
        extradata_sha256=headers,
        cut_points=(*range(0, frames, GOP), frames),
    )


def timeline(n: int = 3, **kwargs) -> Timeline:
    kwargs.setdefault("transition", Transition(kind=TransitionKind.CROSSFADE, duration=0.5))
    return Timeline(clips=[Clip(path=f"c{i}.mp4") for i in range(n)], **kwargs)


@pytest.mark.parametrize("n", [1, 2, 10, 40])
def test_duration_is_n_clips_minus_n_minus_one_overlaps(n: int) -> None:
    layout = plan_layout(timeline(n), [source()] * n)
    assert layout.total_frames == n * 120 - (n - 1) * 12
    assert layout.duration == pytest.approx(n * 5.0 - (n - 1) * 0.5)


def test_cuts_do_not_overlap_shots() -> None:
    layout = plan_layout(
        timeline(3, transition=Transition(kind=TransitionKind.CUT)), [source()] * 3
    )
    assert [s.out_start for s in layout.segments] == [0, 120, 240]
    assert layout.total_frames == 360


def test_shots_overlap_by_the_transition_and_cut_in_its_middle() -> None:
    layout = plan_layout(timeline(3), [source()] * 3)
    assert [(s.out_start, s.head, s.tail) for s in layout.segments] == [
        (0, 0, 12),
        (108, 12, 12),
        (216, 12, 0),
    ]
    assert layout.cut_frames() == [114, 222]


def test_trims_are_converted_to_whole_frames() -> None:
    trimmed = Timeline(clips=[Clip(path="a.mp4", trim_start=0.5, trim_end=3.0), Clip(path="b.mp4")])
    first = plan_layout(trimmed, [source(), source()]).segments[0]
    assert (first.source_start, first.length) == (12, 60)


def test_a_clip_shorter_than_its_two_transitions_is_refused() -> None:
    with pytest.raises(ValueError, match=r"clip 2 .* too short"):
        plan_layout(timeline(3), [source(), source(frames=20), source()])


def test_title_and_intro_come_first_and_the_intro_cuts_into_the_first_clip() -> None:
    layout = plan_layout(
        timeline(
            2,
            title=TitleCard(text="Hi", duration=2.0),
            intro=IntroStill(path="p.jpg", duration=1.0),
        ),
        [source()] * 2,
    )
    kinds = [s.kind for s in layout.segments]
    assert kinds == [SegmentKind.TITLE, SegmentKind.INTRO, SegmentKind.CLIP, SegmentKind.CLIP]
    title, intro, first, _ = layout.segments
    assert (title.tail, intro.head, intro.tail, first.head) == (12, 12, 0, 0)
    assert first.out_start == 48 - 12 + 24


def test_a_clip_at_another_frame_rate_is_counted_in_output_frames() -> None:
    layout = plan_layout(timeline(1), [source(frames=150, fps=30)])
    assert layout.total_frames == 120


def test_smart_plan_copies_each_body_between_keyframes_and_encodes_the_transitions() -> None:
    layout = plan_layout(timeline(3), [source()] * 3)
    plan = plan_smart(layout, [source()] * 3, [True] * 3)
    assert plan.parts == (
        Body(0, 0, 108, 0),
        Window(108, 120, 0),
        Body(1, 12, 108, 120),
        Window(216, 228, 12),
        Body(2, 12, 120, 228),
    )
    assert plan.encoded_frames == 24
    assert plan.copied_frames + plan.encoded_frames == layout.total_frames


def test_a_trimmed_edge_is_encoded_up_to_the_next_keyframe() -> None:
    trimmed = Timeline(
        clips=[
            Clip(path="a.mp4"),
            Clip(path="b.mp4", trim_start=0.25, trim_end=4.0),
            Clip(path="c.mp4"),
        ],
        transition=Transition(duration=0.5),
    )
    layout = plan_layout(trimmed, [source()] * 3)
    body = plan_smart(layout, [source()] * 3, [True] * 3).bodies[1]
    # Solo frames of b are source 18..84: the copy runs from keyframe 24 to keyframe 84.
    assert (body.source_start, body.source_end) == (24, 84)


def test_clips_that_may_not_be_copied_are_encoded_whole() -> None:
    layout = plan_layout(timeline(3), [source()] * 3)
    plan = plan_smart(layout, [source()] * 3, [True, False, True])
    assert [b.clip_index for b in plan.bodies] == [0, 2]
    assert plan.windows == [Window(108, 228, 0)]


def test_only_clips_in_the_output_format_with_the_same_headers_and_no_caption_are_copyable() -> (
    None
):
    clips = [
        Clip(path="a"),
        Clip(path="b"),
        Clip(path="c", caption="Hi"),
        Clip(path="d"),
        Clip(path="e"),
    ]
    sources = [source(), source(size=(960, 960)), source(), source(headers="other"), source(fps=25)]
    assert copyable_clips(Timeline(clips=clips), sources) == [True, False, False, False, False]


def test_auto_mode_is_smart_for_untouched_clips_and_full_under_a_watermark() -> None:
    plain = timeline(3)
    sources = [source()] * 3
    layout = plan_layout(plain, sources)
    assert choose_mode(plain, layout, sources).mode is RenderMode.SMART

    marked = timeline(3, watermark=Watermark(path="wm.png"))
    decision = choose_mode(marked, plan_layout(marked, sources), sources)
    assert decision.mode is RenderMode.FULL and "watermark" in decision.reason


def test_auto_mode_is_full_when_little_could_be_copied() -> None:
    # One keyframe per clip: no run of solo frames starts and ends on a cut point.
    sources = [msgspec.structs.replace(source(), cut_points=(0, 120))] * 3
    plain = timeline(3)
    decision = choose_mode(plain, plan_layout(plain, sources), sources)
    assert decision.mode is RenderMode.FULL and "0%" in decision.reason


def test_a_requested_mode_is_honoured() -> None:
    sources = [source()] * 3
    plain = timeline(3)
    layout = plan_layout(plain, sources)
    assert choose_mode(plain, layout, sources, RenderMode.FULL).mode is RenderMode.FULL
    marked = timeline(3, watermark=Watermark(path="wm.png"))
    forced = choose_mode(marked, plan_layout(marked, sources), sources, RenderMode.SMART)
    assert forced.mode is RenderMode.SMART and forced.plan is not None and not forced.plan.bodies
