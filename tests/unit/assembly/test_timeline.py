"""The timeline: validation and its JSON form."""

from __future__ import annotations

import msgspec
import pytest

from assembly.timeline import Clip, Music, Timeline, Transition, TransitionKind, decode_timeline


def test_a_timeline_without_clips_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one clip"):
        Timeline(clips=[])


def test_an_odd_output_size_is_refused_because_yuv420p_needs_even_sides() -> None:
    with pytest.raises(ValueError, match="even"):
        Timeline(clips=[Clip(path="a.mp4")], width=1281)


def test_a_trim_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="trim_end"):
        Clip(path="a.mp4", trim_start=2.0, trim_end=1.0)


def test_a_cut_has_no_overlap_whatever_its_duration() -> None:
    assert Transition(kind=TransitionKind.CUT, duration=0.5).overlap == 0.0
    assert Transition(kind=TransitionKind.WIPE, duration=0.5).overlap == 0.5


def test_a_timeline_round_trips_through_json() -> None:
    timeline = Timeline(
        clips=[Clip(path="a.mp4", caption="Hello"), Clip(path="b.mp4", trim_start=0.5)],
        transition=Transition(kind=TransitionKind.FADE_THROUGH_BLACK, duration=0.75),
        music=Music(path="m.mp3", fade_out=3.0),
    )
    assert decode_timeline(msgspec.json.encode(timeline)) == timeline


def test_json_with_out_of_range_values_is_rejected_with_a_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_timeline(b'{"clips": [{"path": "a.mp4"}], "music": {"path": "m.mp3", "volume": -1}}')
    with pytest.raises(msgspec.ValidationError):
        decode_timeline(b'{"clips": [{"path": "a.mp4"}], "transition": {"kind": "spin"}}')
    with pytest.raises(msgspec.ValidationError, match="even"):
        decode_timeline(b'{"clips": [{"path": "a.mp4"}], "width": 641}')
