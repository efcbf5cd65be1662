"""Clean cut points: where a packet stream can be split for stream copy."""

from __future__ import annotations

from assembly.render.media import clean_cut_points

# Display indices in decode order of a closed-GOP stream with 2 B-frames and a keyframe
# every 6 frames: I0 P3 B1 B2 P5 B4 | I6 P9 B7 B8 P11 B10 (what x264 with open-gop=0 writes).
CLOSED = [0, 3, 1, 2, 5, 4, 6, 9, 7, 8, 11, 10]
CLOSED_KEYS = [i in (0, 6) for i in range(12)]


def test_every_keyframe_of_a_closed_gop_stream_is_a_cut_point() -> None:
    assert clean_cut_points(CLOSED, CLOSED_KEYS) == (0, 6, 12)


def test_a_keyframe_that_b_frames_reach_across_is_not_a_cut_point() -> None:
    # Open GOP: B-frames 5 and 4 come after I6 in decode order but show before it.
    display = [0, 3, 1, 2, 6, 5, 4, 9, 7, 8, 11, 10]
    keys = [True, False, False, False, True] + [False] * 7
    assert clean_cut_points(display, keys) == (0, 12)


def test_an_empty_stream_has_no_cut_points() -> None:
    assert clean_cut_points([], []) == ()
