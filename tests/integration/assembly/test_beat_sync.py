"""Beat-synced cuts on generated music of known tempo."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from assembly.beats import detect_beats_in_file
from assembly.runner import render
from assembly.timeline import Clip, Music, Timeline, Transition, TransitionKind
from tests.integration.assembly.conftest import (
    FPS,
    HEIGHT,
    WIDTH,
    beat_times,
    decode,
    decoded_colour,
    synth_music,
)

BPM = 100.0
FIRST_BEAT = 0.3
FRAME = 1 / FPS


@pytest.fixture(scope="module")
def music_100bpm(media_dir: Path) -> Path:
    return synth_music(media_dir / "music-100.wav", 14.0, bpm=BPM, first_beat=FIRST_BEAT)


async def test_beats_of_generated_music_are_found_within_a_frame(
    music_100bpm: Path, tmp_path: Path
) -> None:
    grid = await detect_beats_in_file(music_100bpm, tmp_path)

    truth = beat_times(14.0, bpm=BPM, first_beat=FIRST_BEAT)
    assert abs(grid.tempo_bpm - BPM) < 1.0
    errors = [np.abs(np.asarray(grid.beats) - t).min() for t in truth[1:-1]]
    assert max(errors) < FRAME / 2


@pytest.mark.parametrize("kind", [TransitionKind.CUT, TransitionKind.CROSSFADE])
async def test_every_cut_lands_within_one_frame_of_a_beat(
    kind: TransitionKind, clip: Callable[..., Path], music_100bpm: Path, tmp_path: Path
) -> None:
    colours = ["red", "green", "blue", "yellow"]
    timeline = Timeline(
        clips=[Clip(path=str(clip(c, 2.5))) for c in colours],
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        transition=Transition(kind=kind, duration=0.5),
        music=Music(path=str(music_100bpm)),
    )
    result = await render(timeline, tmp_path / "synced.mp4", beat_sync=True)
    video = decode(result.output)
    truth = beat_times(14.0, bpm=BPM, first_beat=FIRST_BEAT)

    # Where the picture is halfway from one clip's colour to the next: the cut (the middle
    # of a crossfade), found to a fraction of a frame by interpolation.
    cuts = []
    for before, after in itertools.pairwise(colours):
        a, b = decoded_colour(before), decoded_colour(after)
        share = [
            float(np.dot(video.colour_at(n) - a, b - a) / np.dot(b - a, b - a))
            for n in range(len(video.frames))
        ]
        n = next(i for i, s in enumerate(share) if s >= 0.5 and i > 0 and share[i - 1] < 0.5)
        fraction = (0.5 - share[n - 1]) / (share[n] - share[n - 1])
        # A cut shows the new clip from frame n on; a crossfade is half done at its middle.
        cuts.append((n if kind is TransitionKind.CUT else n - 1 + fraction) * FRAME)

    assert len(cuts) == 3
    for cut in cuts:
        assert np.abs(truth - cut).min() <= FRAME, f"cut at {cut:.3f} s is off the beat"
    assert result.frames < 4 * 60  # the clips were shortened to reach the beats
