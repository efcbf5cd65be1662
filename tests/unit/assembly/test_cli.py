"""The CLI's flags and how they become a timeline (nothing is rendered here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assembly.cli import build_parser, timeline_from_args
from assembly.timeline import TransitionKind, WatermarkCorner


def parse(*argv: str):
    return build_parser().parse_args(["render", *argv])


def test_flags_build_the_timeline_they_describe() -> None:
    args = parse(
        "--clip",
        "a.mp4",
        "--clip",
        "b.mp4",
        "--music",
        "m.mp3",
        "--transition",
        "slide",
        "--transition-duration",
        "0.75",
        "--watermark",
        "wm.png",
        "--watermark-corner",
        "top-left",
        "--size",
        "720x1280",
        "--fps",
        "30",
        "--caption",
        "",
        "--caption",
        "Paris, 1961",
        "--title",
        "Grandma",
        "--out",
        "out.mp4",
    )
    timeline = timeline_from_args(args)
    assert [c.path for c in timeline.clips] == ["a.mp4", "b.mp4"]
    assert [c.caption for c in timeline.clips] == [None, "Paris, 1961"]
    assert (timeline.width, timeline.height, timeline.fps) == (720, 1280, 30)
    assert timeline.transition.kind is TransitionKind.SLIDE and timeline.transition.duration == 0.75
    assert timeline.music is not None and timeline.music.path == "m.mp3"
    assert timeline.watermark is not None and timeline.watermark.corner is WatermarkCorner.TOP_LEFT
    assert timeline.title is not None and timeline.title.text == "Grandma"


def test_defaults_are_a_720p_24fps_crossfade_in_auto_mode() -> None:
    args = parse("--clip", "a.mp4", "--out", "o.mp4")
    timeline = timeline_from_args(args)
    assert (timeline.width, timeline.height, timeline.fps) == (1280, 720, 24)
    assert (
        timeline.transition.kind is TransitionKind.CROSSFADE and timeline.transition.duration == 0.5
    )
    assert args.mode == "auto" and args.beat_sync is False


def test_a_timeline_file_can_describe_everything(tmp_path: Path) -> None:
    spec = tmp_path / "timeline.json"
    spec.write_text(
        json.dumps(
            {"clips": [{"path": "a.mp4", "trim_start": 1.0}], "transition": {"kind": "wipe"}}
        )
    )
    timeline = timeline_from_args(parse("--timeline", str(spec), "--out", "o.mp4"))
    assert timeline.clips[0].trim_start == 1.0 and timeline.transition.kind is TransitionKind.WIPE


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--out", "o.mp4"), "at least one --clip"),
        (
            ("--clip", "a.mp4", "--caption", "x", "--caption", "y", "--out", "o.mp4"),
            "2 captions for 1 clips",
        ),
        (("--clip", "a.mp4", "--size", "1281x720", "--out", "o.mp4"), "even"),
    ],
)
def test_flags_that_make_no_sense_are_refused(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        timeline_from_args(parse(*argv))


def test_a_malformed_size_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse("--clip", "a.mp4", "--size", "big", "--out", "o.mp4")
    assert exit_info.value.code == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
