"""Timeline -> ffmpeg command lines, checked without running ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest

from assembly.encoding import CLIP_ENCODING
from assembly.render.commands import MusicInput, full_render_job, windows_job
from assembly.render.graph import Assets, Placement, layers
from assembly.render.layout import Window, plan_layout, plan_smart
from assembly.render.media import SourceInfo
from assembly.timeline import Clip, Music, Timeline, Transition, TransitionKind

WORK = Path("/work/render")
OUT = Path("/out/video.mp4")


def source(
    path: str, *, frames: int = 120, size: tuple[int, int] = (1280, 720), fps: int = 24
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
        extradata_sha256="h264-v1",
        cut_points=(*range(0, frames, 12), frames),
    )


def setup(n: int, kind: TransitionKind = TransitionKind.CROSSFADE, **kwargs):
    timeline = Timeline(
        clips=[Clip(path=f"/clips/c{i}.mp4") for i in range(n)],
        transition=Transition(kind=kind, duration=0.5),
        **kwargs,
    )
    sources = [source(c.path) for c in timeline.clips]
    return timeline, sources, plan_layout(timeline, sources)


def full_job(
    n: int, kind: TransitionKind = TransitionKind.CROSSFADE, assets: Assets | None = None, **kwargs
):
    timeline, sources, layout = setup(n, kind, **kwargs)
    music = MusicInput(track_seconds=30.0, integrated_lufs=-20.0) if timeline.music else None
    return full_render_job(timeline, layout, sources, assets or Assets(), music, WORK, OUT)


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_full_render_is_one_ffmpeg_run_with_one_filtergraph_and_one_encode() -> None:
    argv = full_job(3).argv
    assert argv.count("-filter_complex") == 1
    assert argv.count("-c:v") == 1 and option(argv, "-c:v") == "libx264"
    assert argv[-1] == str(OUT)
    assert option(argv, "-movflags") == "+faststart"
    assert (option(argv, "-c:a"), option(argv, "-ar"), option(argv, "-ac")) == ("aac", "48000", "2")
    assert option(argv, "-frames:v") == str(3 * 120 - 2 * 12)
    for flag, value in zip(
        CLIP_ENCODING.video_args()[::2], CLIP_ENCODING.video_args()[1::2], strict=True
    ):
        assert option(argv, flag) == value


def test_clips_are_read_through_two_sequential_inputs_however_many_there_are() -> None:
    for n in (2, 10, 40):
        argv = full_job(n).argv
        assert argv.count("-i") == 2
        assert argv.count("concat") >= 2 and "/clips/c0.mp4" not in argv


def test_the_filtergraph_has_one_blend_whatever_the_number_of_transitions() -> None:
    for n in (3, 40):
        graph = option(full_job(n).argv, "-filter_complex")
        assert graph.count("overlay=") == 1
        assert "xfade" not in graph


def test_the_concat_lists_give_each_clip_a_slot_and_seek_to_keyframes() -> None:
    files = full_job(3).files
    base, incoming = files[WORK / "stream_A.ffconcat"], files[WORK / "stream_B.ffconcat"]
    assert base.count("file ") == 3
    assert "inpoint 0.500000" in base  # clips 2 and 3 start after their 12-frame heads
    assert incoming.count("file ") == 2 and incoming.count("outpoint 0.500000") == 2
    assert "file '/clips/c1.mp4'" in incoming and "file '/clips/c0.mp4'" not in incoming


@pytest.mark.parametrize(
    ("kind", "marker"),
    [
        (TransitionKind.CROSSFADE, "alpha=1"),
        (TransitionKind.FADE_THROUGH_BLACK, "alpha=1"),
        (TransitionKind.SLIDE, "overlay=x='st(0"),
        (TransitionKind.WIPE, "crop=1280:ih:x="),
    ],
)
def test_each_transition_kind_has_its_own_effect(kind: TransitionKind, marker: str) -> None:
    graph = option(full_job(3, kind).argv, "-filter_complex")
    assert marker in graph
    assert "enable='between(round(t*24),108,119)+between(round(t*24),216,227)'" in graph


def test_a_cut_needs_no_second_reader_and_no_blend() -> None:
    job = full_job(3, TransitionKind.CUT)
    assert job.argv.count("-i") == 1
    assert "overlay" not in option(job.argv, "-filter_complex")


def test_watermark_and_captions_are_overlaid_after_the_transitions() -> None:
    assets = Assets(
        captions={1: Placement("/work/render/caption_1.png", 400, 600)},
        watermark=Placement("/wm.png", 1100, 650),
        watermark_opacity=0.5,
    )
    graph = option(full_job(3, assets=assets).argv, "-filter_complex")
    assert "overlay=x=400:y=600:enable='between(round(t*24),120,215)'" in graph  # clip 2 alone
    assert "colorchannelmixer=aa=0.5" in graph and "overlay=x=1100:y=650" in graph


def test_music_is_mixed_into_the_same_run() -> None:
    argv = full_job(3, music=Music(path="/m.mp3", fade_out=2.0)).argv
    graph = option(argv, "-filter_complex")
    assert "/m.mp3" in argv
    assert "volume=4.000dB" in graph  # -20 LUFS measured, -16 wanted
    assert "afade=t=out:st=12.000000:d=2.000000" in graph  # the video lasts 14 s


def test_clips_of_other_formats_get_an_input_each_normalised_to_the_output() -> None:
    timeline = Timeline(
        clips=[Clip(path="/a.mp4"), Clip(path="/b.mov")], transition=Transition(duration=0.5)
    )
    sources = [source("/a.mp4"), source("/b.mov", size=(1920, 1080), fps=30, frames=150)]
    job = full_render_job(
        timeline, plan_layout(timeline, sources), sources, Assets(), None, WORK, OUT
    )
    graph = option(job.argv, "-filter_complex")
    # b.mov feeds the base layer and, for its first half second, the incoming layer.
    assert [job.argv[i + 1] for i, a in enumerate(job.argv) if a == "-i"] == [
        "/a.mp4",
        "/b.mov",
        "/b.mov",
    ]
    assert graph.count("fps=24,scale=1280:720:force_original_aspect_ratio=decrease") == 3


def test_layers_put_each_outgoing_frame_in_the_base_and_each_incoming_one_on_top() -> None:
    _, _, layout = setup(3)
    plan = layers(layout, [Window(0, layout.total_frames, 0)])
    assert sum(span.length for span in plan.base) == layout.total_frames
    assert [span.length for span in plan.incoming] == [12, 12]
    assert plan.transitions == [108, 216]


def test_a_window_may_not_cut_through_a_transition() -> None:
    _, _, layout = setup(2)
    with pytest.raises(ValueError, match="cuts through"):
        layers(layout, [Window(0, 114, 0)])


def test_smart_windows_are_encoded_with_the_clip_settings_and_an_idr_at_each_window() -> None:
    timeline, sources, layout = setup(4)
    plan = plan_smart(layout, sources, [True] * 4)
    job = windows_job(timeline, layout, sources, Assets(), plan, WORK, WORK / "windows.mp4")
    argv = job.argv
    assert option(argv, "-force_key_frames") == "0.479167,0.979167"  # frames 12 and 24
    assert option(argv, "-frames:v") == "36"
    assert "-an" in argv and "-movflags" not in argv
    assert option(argv, "-x264-params") == CLIP_ENCODING.x264_params()
    assert (
        "enable='between(round(t*24),0,11)+between(round(t*24),12,23)+between(round(t*24),24,35)'"
        in option(argv, "-filter_complex")
    )
