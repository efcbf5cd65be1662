"""Full and smart renders with real ffmpeg, checked frame by frame."""

from __future__ import annotations

import hashlib
import itertools
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from assembly.ffmpeg import ffmpeg_cmd, ffmpeg_exe
from assembly.probe import probe
from assembly.render import RenderMode
from assembly.render.layout import plan_layout
from assembly.render.media import scan_source
from assembly.runner import render
from assembly.timeline import (
    Clip,
    IntroStill,
    Music,
    Timeline,
    TitleCard,
    Transition,
    TransitionKind,
    Watermark,
    WatermarkCorner,
)
from tests.integration.assembly.conftest import (
    FPS,
    HEIGHT,
    WIDTH,
    decode,
    decode_errors,
    decoded_colour,
    is_colour,
    nearest_colour,
    ssim,
)

FRAME = 1 / FPS


def timeline_of(paths: list[Path], **kwargs) -> Timeline:
    kwargs.setdefault("transition", Transition(kind=TransitionKind.CROSSFADE, duration=0.5))
    return Timeline(
        clips=[Clip(path=str(p)) for p in paths], width=WIDTH, height=HEIGHT, fps=FPS, **kwargs
    )


@pytest.fixture
def three_clips(clip: Callable[..., Path]) -> list[Path]:
    return [clip("red"), clip("green"), clip("blue")]


def top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size == 0:
            break
        offset += size
    return boxes


async def test_full_render_lasts_n_clips_minus_overlaps_with_one_video_and_one_audio_stream(
    three_clips: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "full.mp4"
    result = await render(timeline_of(three_clips), out, mode=RenderMode.FULL)

    info = probe(out)
    expected = 3 * 2.0 - 2 * 0.5
    assert result.mode is RenderMode.FULL
    assert abs(info.duration - expected) <= FRAME
    assert info.video is not None and info.audio is not None
    assert info.video.frames == round(expected * FPS) == result.frames
    assert (info.video_streams, info.audio_streams) == (1, 1)
    assert (info.video.codec, info.video.pix_fmt, info.video.profile) == ("h264", "yuv420p", "High")
    assert (info.audio.codec, info.audio.sample_rate, info.audio.channels) == ("aac", 48_000, 2)
    assert top_level_boxes(out).index("moov") < top_level_boxes(out).index("mdat")  # +faststart
    assert result.poster.read_bytes()[:2] == b"\xff\xd8"
    assert decode_errors(out) == ""


async def test_clips_play_in_timeline_order(clip: Callable[..., Path], tmp_path: Path) -> None:
    names = ["green", "red", "yellow", "blue"]
    out = tmp_path / "order.mp4"
    await render(timeline_of([clip(n) for n in names]), out, mode=RenderMode.FULL)

    video = decode(out)
    # Each clip is alone on screen from 12 frames after its start to 12 before its end.
    middles = [i * 36 + 24 for i in range(len(names))]
    assert [nearest_colour(video.colour_at(m)) for m in middles] == names


async def test_crossfade_blends_the_outgoing_and_incoming_clips(
    three_clips: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "fade.mp4"
    await render(timeline_of(three_clips), out, mode=RenderMode.FULL)

    video = decode(out)
    red, green = decoded_colour("red"), decoded_colour("green")
    middle = video.colour_at(36 + 6)  # red->green overlap is frames 36..47
    halfway = (red + green) / 2
    assert np.abs(middle - halfway).max() < 25
    assert is_colour(video.colour_at(35), "red") and is_colour(video.colour_at(48), "green")


@pytest.mark.parametrize("kind", list(TransitionKind))
async def test_every_transition_kind_changes_the_picture_during_the_overlap(
    kind: TransitionKind, three_clips: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / f"{kind}.mp4"
    timeline = timeline_of(three_clips, transition=Transition(kind=kind, duration=0.5))
    result = await render(timeline, out, mode=RenderMode.FULL)
    video = decode(out)

    if kind is TransitionKind.CUT:
        assert result.frames == 3 * 48
        assert is_colour(video.colour_at(47), "red") and is_colour(video.colour_at(48), "green")
        return
    assert result.frames == 3 * 48 - 2 * 12
    middle = video.frames[36 + 6].astype(float)
    if kind is TransitionKind.FADE_THROUGH_BLACK:
        assert middle[40:100].mean() < 60  # near black between the two clips
        return
    if kind is TransitionKind.CROSSFADE:
        mixed = video.colour_at(42)
        assert not is_colour(mixed, "red") and not is_colour(mixed, "green")
        return
    # Slide and wipe: part of the frame shows the outgoing clip, part the incoming one.
    left = middle[40:100, 10:60].reshape(-1, 3).mean(axis=0)
    right = middle[40:100, 200:250].reshape(-1, 3).mean(axis=0)
    assert is_colour(left, "red") and is_colour(right, "green")


async def test_smart_render_matches_full_render_frame_for_frame(
    three_clips: list[Path], tmp_path: Path
) -> None:
    timeline = timeline_of(three_clips)
    smart = await render(timeline, tmp_path / "smart.mp4", mode=RenderMode.AUTO)
    full = await render(timeline, tmp_path / "full.mp4", mode=RenderMode.FULL)

    assert smart.mode is RenderMode.SMART
    assert smart.encoded_frames < smart.frames / 2
    a, b = decode(smart.output), decode(full.output)
    assert len(a.frames) == len(b.frames) == smart.frames
    assert a.times == b.times
    assert min(ssim(x, y) for x, y in zip(a.frames, b.frames, strict=True)) >= 0.97
    assert decode_errors(smart.output) == ""
    assert top_level_boxes(smart.output).index("moov") < top_level_boxes(smart.output).index("mdat")


async def test_smart_render_shows_every_source_frame_once_across_the_joins(
    three_clips: list[Path], tmp_path: Path
) -> None:
    timeline = timeline_of(three_clips)
    result = await render(timeline, tmp_path / "smart.mp4", mode=RenderMode.SMART)
    video = decode(result.output)
    layout = plan_layout(timeline, [scan_source(p) for p in three_clips])

    for segment in layout.clip_segments():
        start, end = segment.solo
        shown = [video.marker_frame(n) for n in range(start, end)]
        expected = [segment.source_start + n - segment.out_start for n in range(start, end)]
        assert shown == expected, f"clip {segment.clip_index}: frames repeated, dropped or frozen"


async def test_smart_render_timestamps_are_a_gapless_monotonic_frame_grid(
    three_clips: list[Path], tmp_path: Path
) -> None:
    result = await render(timeline_of(three_clips), tmp_path / "smart.mp4", mode=RenderMode.SMART)
    with av.open(str(result.output)) as container:
        stream = container.streams.video[0]
        tick = int(1 / (stream.time_base * FPS))
        packets = [(p.pts, p.dts) for p in container.demux(stream) if p.size]
    dts = [d for _, d in packets]
    assert all(b > a for a, b in itertools.pairwise(dts))
    assert sorted(p for p, _ in packets) == [n * tick for n in range(result.frames)]
    assert all(d <= p for p, d in packets)


async def test_smart_render_copies_clip_bodies_bit_for_bit(
    three_clips: list[Path], tmp_path: Path
) -> None:
    result = await render(timeline_of(three_clips), tmp_path / "smart.mp4", mode=RenderMode.SMART)

    def packet_digests(path: Path) -> set[str]:
        with av.open(str(path)) as container:
            return {
                hashlib.sha256(bytes(p)).hexdigest() for p in container.demux(video=0) if p.size
            }

    copied = packet_digests(result.output) & packet_digests(three_clips[1])
    # The green clip's body (frames 12..35) is stream-copied: 24 identical packets.
    assert len(copied) >= 24


async def test_a_smart_render_of_plain_cuts_encodes_no_video_at_all(
    three_clips: list[Path], tmp_path: Path
) -> None:
    timeline = timeline_of(three_clips, transition=Transition(kind=TransitionKind.CUT))
    result = await render(timeline, tmp_path / "cuts.mp4")

    assert result.mode is RenderMode.SMART and result.encoded_frames == 0
    video = decode(result.output)
    assert [video.marker_frame(n) for n in range(result.frames)] == list(range(48)) * 3
    assert decode_errors(result.output) == ""


async def test_smart_render_cuts_a_trimmed_clip_on_the_exact_frame(
    clip: Callable[..., Path], tmp_path: Path
) -> None:
    paths = [clip("red"), clip("green", 2.5), clip("blue")]
    timeline = Timeline(
        clips=[
            Clip(path=str(paths[0])),
            Clip(path=str(paths[1]), trim_start=0.25, trim_end=2.125),
            Clip(path=str(paths[2])),
        ],
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
        transition=Transition(kind=TransitionKind.CROSSFADE, duration=0.5),
    )
    smart = await render(timeline, tmp_path / "smart.mp4", mode=RenderMode.SMART)
    full = await render(timeline, tmp_path / "full.mp4", mode=RenderMode.FULL)
    a, b = decode(smart.output), decode(full.output)

    green = plan_layout(timeline, [scan_source(p) for p in paths]).clip_segments()[1]
    assert green.source_start == 6 and green.length == 51 - 6
    start, end = green.solo
    assert [a.marker_frame(n) for n in range(start, end)] == list(range(6 + 12, 51 - 12))
    assert len(a.frames) == len(b.frames) == smart.frames
    assert min(ssim(x, y) for x, y in zip(a.frames, b.frames, strict=True)) >= 0.97


async def test_watermark_is_drawn_in_its_corner_on_every_frame(
    three_clips: list[Path], watermark_png: Path, tmp_path: Path
) -> None:
    mark = Watermark(path=str(watermark_png), corner=WatermarkCorner.TOP_LEFT, margin=0.1)
    result = await render(timeline_of(three_clips, watermark=mark), tmp_path / "wm.mp4")
    plain = await render(timeline_of(three_clips), tmp_path / "plain.mp4")

    assert result.mode is RenderMode.FULL  # a watermark changes every frame
    assert plain.mode is RenderMode.SMART
    margin = round(0.1 * HEIGHT)
    marked, unmarked = decode(result.output), decode(plain.output)
    region = (slice(margin + 4, margin + 16), slice(margin + 4, margin + 36))
    for n in range(0, result.frames, 7):
        assert marked.frames[n][region].min() > 230
        assert unmarked.frames[n][region].min() < 200


async def test_captions_show_over_their_own_clip_only(
    three_clips: list[Path], tmp_path: Path
) -> None:
    timeline = Timeline(
        clips=[
            Clip(path=str(three_clips[0]), caption="Summer 1962"),
            Clip(path=str(three_clips[1])),
            Clip(path=str(three_clips[2])),
        ],
        width=WIDTH,
        height=HEIGHT,
        fps=FPS,
    )
    result = await render(timeline, tmp_path / "captions.mp4")
    video = decode(result.output)

    def caption_band(n: int) -> np.ndarray:
        return video.frames[n][105:135, 60:196].astype(float)

    # On the red clip the band holds white text on a dark backdrop; on the green one, just green.
    with_caption, without = caption_band(20), caption_band(60)
    assert with_caption.min(axis=2).max() > 200 and with_caption.max(axis=2).min() < 120
    assert is_colour(without.reshape(-1, 3).mean(axis=0), "green")
    assert result.mode is RenderMode.SMART  # the uncaptioned clips are still copied


async def test_title_card_and_intro_still_come_before_the_first_clip(
    three_clips: list[Path], photo: Path, tmp_path: Path
) -> None:
    timeline = timeline_of(
        three_clips,
        title=TitleCard(text="A life in pictures", duration=1.5),
        intro=IntroStill(path=str(photo), duration=1.0),
    )
    result = await render(timeline, tmp_path / "titled.mp4")
    video = decode(result.output)

    # title 36 frames, crossfade 12 into the 24-frame intro, which cuts into the clips.
    assert result.frames == 36 + 24 - 12 + 3 * 48 - 2 * 12
    card = video.frames[10].astype(float)
    assert card.mean() < 60 and card.max() > 200  # light text on a dark card
    assert np.abs(video.colour_at(40) - np.array([250, 140, 0])).max() < 25  # the photo
    assert is_colour(video.colour_at(48), "red")  # a cut: the first clip starts right after


async def test_music_is_trimmed_to_the_video_and_fades_out(
    three_clips: list[Path], music_120bpm: Path, tmp_path: Path
) -> None:
    timeline = timeline_of(three_clips, music=Music(path=str(music_120bpm), fade_out=1.0))
    result = await render(timeline, tmp_path / "music.mp4")

    info = probe(result.output)
    assert info.audio is not None and abs(info.audio.duration - result.duration) <= FRAME
    pcm = audio_pcm(result.output)
    rate = 48_000
    middle = rms(pcm[int(1.0 * rate) : int(3.0 * rate)])
    last = rms(pcm[-int(0.1 * rate) :])
    assert middle > 0.02
    assert last < middle / 10


async def test_short_music_loops_and_is_normalised_to_minus_16_lufs(
    three_clips: list[Path], short_music: Path, tmp_path: Path
) -> None:
    timeline = timeline_of(
        three_clips, music=Music(path=str(short_music), fade_out=0.0, loop_crossfade=0.5)
    )
    result = await render(timeline, tmp_path / "loop.mp4")

    pcm = audio_pcm(result.output)
    rate = 48_000
    # The 3 s track covers the 5 s video: no silence after the first pass ends.
    assert rms(pcm[int(3.5 * rate) : int(4.8 * rate)]) > 0.02
    assert abs(integrated_loudness(result.output) - -16.0) <= 1.0


async def test_clips_of_other_sizes_and_rates_are_normalised_in_a_full_render(
    clip: Callable[..., Path], tmp_path: Path
) -> None:
    odd = [clip("red"), clip("green", 2.0, size=(320, 240), fps=30), clip("blue")]
    result = await render(timeline_of(odd), tmp_path / "mixed.mp4")

    # The red and blue bodies are still copied; the odd green clip is re-encoded whole.
    assert result.mode is RenderMode.SMART
    assert result.encoded_frames == result.frames - 36 - 36
    video = decode(result.output)
    assert len(video.frames) == result.frames
    assert [nearest_colour(video.colour_at(n)) for n in (24, 60, 96)] == ["red", "green", "blue"]
    assert video.frames[0].shape == (HEIGHT, WIDTH, 3)


def audio_pcm(path: Path) -> np.ndarray:
    raw = subprocess.run(
        ffmpeg_cmd("-i", str(path), "-vn", "-ac", "1", "-ar", "48000", "-f", "f32le", "-"),
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4")


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def integrated_loudness(path: Path) -> float:
    """EBU R128 integrated loudness (LUFS) of a file's audio, from ffmpeg's ebur128 summary."""
    result = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(path),
            "-vn",
            "-af",
            "ebur128=framelog=quiet",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip().startswith("I:")]
    return float(lines[-1].split()[1])
