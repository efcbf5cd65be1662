"""The music chain: loudness gain, looping, trimming and fades."""

from __future__ import annotations

import pytest

from assembly.music import (
    MAX_GAIN_DB,
    loop_count,
    music_graph,
    normalising_gain_db,
    parse_integrated_loudness,
    silence_graph,
)
from assembly.timeline import Music


def test_the_last_running_value_of_ebur128_is_the_integrated_loudness() -> None:
    log = "frame:0 pts:0\nlavfi.r128.I=-70.000\nframe:1 pts:4410\nlavfi.r128.I=-23.512\nframe:2\nlavfi.r128.I=-21.250\n"
    assert parse_integrated_loudness(log) == -21.25


def test_a_log_without_measurements_is_an_error() -> None:
    with pytest.raises(ValueError, match="no loudness"):
        parse_integrated_loudness("")


def test_gain_brings_the_track_to_the_target_but_never_boosts_silence() -> None:
    assert normalising_gain_db(-23.0, -16.0) == 7.0
    assert normalising_gain_db(-9.5, -16.0) == -6.5
    assert normalising_gain_db(-float("inf"), -16.0) == 0.0
    assert normalising_gain_db(-60.0, -16.0) == MAX_GAIN_DB


@pytest.mark.parametrize(
    ("track", "video", "crossfade", "copies"),
    [(60.0, 45.0, 1.0, 1), (45.0, 45.0, 1.0, 1), (20.0, 45.0, 1.0, 3), (10.0, 45.0, 2.0, 6)],
)
def test_enough_copies_of_a_short_track_are_joined_to_cover_the_video(
    track: float, video: float, crossfade: float, copies: int
) -> None:
    assert loop_count(track, video, crossfade) == copies
    if copies > 1:
        assert copies * track - (copies - 1) * crossfade >= video


def test_a_short_track_loops_with_crossfades() -> None:
    music = Music(path="/m.mp3", start=5.0, loop_crossfade=1.5)
    graph = music_graph(
        music, track_seconds=20.0, video_seconds=45.0, integrated_lufs=-16.0, first_input=3
    )
    assert graph.input_args == ["-ss", "5.000000", "-i", "/m.mp3"] * 3
    text = ";".join(graph.filters)
    assert text.count("acrossfade=d=1.500000") == 2
    assert "[3:a:0]" in text and "[5:a:0]" in text


def test_a_long_track_is_cut_to_the_video_and_faded_in_and_out() -> None:
    music = Music(path="/m.mp3", fade_in=1.0, fade_out=3.0, volume=0.5)
    graph = music_graph(
        music, track_seconds=200.0, video_seconds=45.0, integrated_lufs=-12.0, first_input=0
    )
    text = ";".join(graph.filters)
    assert graph.input_args == ["-i", "/m.mp3"]
    assert "acrossfade" not in text
    assert "volume=-4.000dB" in text and "volume=0.5" in text
    assert "atrim=end=45.000000" in text
    assert "afade=t=in:st=0:d=1.000000" in text and "afade=t=out:st=42.000000:d=3.000000" in text
    assert text.endswith("[aout]")


def test_a_loop_crossfade_never_covers_more_than_half_the_track() -> None:
    graph = music_graph(
        Music(path="/m.mp3", loop_crossfade=5.0),
        track_seconds=4.0,
        video_seconds=10.0,
        integrated_lufs=-16.0,
        first_input=0,
    )
    assert "acrossfade=d=2.000000" in ";".join(graph.filters)


def test_without_music_the_video_gets_silence_of_its_exact_length() -> None:
    graph = silence_graph(12.5)
    assert graph.input_args == []
    assert "anullsrc=r=48000:cl=stereo,atrim=end=12.500000" in graph.filters[0]
