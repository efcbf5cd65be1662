"""Clips made for real with ffmpeg: local motion, finishing provider videos, posters, cancellation.

Each test renders short clips (one to five seconds) and checks what is in the files:
streams, sizes, frame counts, atom order, pixels.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import psutil
import pytest
from PIL import Image, ImageFilter, ImageOps

from assembly.clipmaker import ClipError, ClipInfo, finish_argv, finish_clip, make_local_clip
from assembly.encoding import ASPECT_SIZES, CLIP_ENCODING
from assembly.ffmpeg import ffmpeg_cmd
from assembly.motion import motion_plan, render_motion
from assembly.probe import MediaInfo, probe
from assembly.process import FFmpegError, atomic_output, run_ffmpeg
from assembly.watermark import render_watermark_png, watermark_overlay_position
from tests.paths import PHOTOS

FPS = CLIP_ENCODING.fps
FRAME = 1 / FPS
INTRO_FRAMES = 12
SEED = 7


# --- helpers -----------------------------------------------------------------------------


def luma_frames(path: Path) -> list[np.ndarray]:
    """The Y plane of every frame, as float32 (yuv420p: the first ``height`` rows)."""
    with av.open(str(path)) as container:
        return [
            frame.to_ndarray()[: frame.height].astype(np.float32)
            for frame in container.decode(video=0)
        ]


def bt709_luma(rgb: np.ndarray) -> np.ndarray:
    """Limited-range BT.709 Y' of an sRGB image, to compare with decoded video luma."""
    c = rgb.astype(np.float32) / 255
    return 16 + 219 * (0.2126 * c[..., 0] + 0.7152 * c[..., 1] + 0.0722 * c[..., 2])


def shrink(a: np.ndarray, k: int = 4) -> np.ndarray:
    h, w = a.shape
    return a[: h // k * k, : w // k * k].reshape(h // k, k, w // k, k).mean(axis=(1, 3))


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b)))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


def top_level_atoms(path: Path) -> list[str]:
    data = path.read_bytes()
    atoms, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        atoms.append(data[pos + 4 : pos + 8].decode("latin-1"))
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        elif size == 0:
            break
        pos += size
    return atoms


def assert_stored_clip_format(media: MediaInfo, size: tuple[int, int], frames: int) -> None:
    assert media.video is not None
    assert media.video.codec == "h264"
    assert media.video.profile == "High"
    assert media.video.pix_fmt == "yuv420p"
    assert (media.video.width, media.video.height) == size
    assert media.video.fps == FPS
    assert media.video.frames == frames
    assert media.video.duration == pytest.approx(frames / FPS, abs=FRAME)
    assert media.audio is None and media.audio_streams == 0


def assert_faststart(path: Path) -> None:
    atoms = top_level_atoms(path)
    assert "moov" in atoms and "mdat" in atoms
    assert atoms.index("moov") < atoms.index("mdat")


def ffmpeg_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if "ffmpeg" in p.name()]


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def textured_photo(path: Path, *, size: tuple[int, int], level: int, spread: int) -> Path:
    """A synthetic photo: soft blotches around ``level`` so motion shows in every frame."""
    rng = np.random.default_rng(level)
    noise = Image.fromarray(rng.integers(0, 256, (size[1] // 8, size[0] // 8), dtype=np.uint8))
    texture = noise.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(3))
    grey = np.asarray(texture, dtype=np.float32) / 255 - 0.5
    values = np.clip(level + spread * grey, 0, 255).astype(np.uint8)
    Image.fromarray(np.dstack([values, values, values])).save(path, quality=92)
    return path


def make_source_video(path: Path, *args: str) -> Path:
    subprocess.run(ffmpeg_cmd(*args, str(path)), check=True)
    return path


# --- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def phone_photo(workdir: Path) -> Path:
    """The 12 MP phone fixture normalised as uploads are: upright, 2048 px long side, JPEG."""
    path = workdir / "phone.jpg"
    with Image.open(PHOTOS / "phone_12mp_orient6_gps.jpg") as image:
        image.draft("RGB", (2048, 2048))
        upright = ImageOps.exif_transpose(image).convert("RGB")
    upright.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
    upright.save(path, quality=90)
    return path


@pytest.fixture(scope="module")
async def free_try(workdir: Path, phone_photo: Path) -> tuple[ClipInfo, Path, Path]:
    """The free-try clip: 0.5 s intro + 5 s motion + watermark, made in one encode."""
    video, poster = workdir / "free.mp4", workdir / "free.jpg"
    info = await make_local_clip(
        phone_photo, video, poster, aspect="16:9", seed=SEED, intro_seconds=0.5, watermark=True
    )
    return info, video, poster


@pytest.fixture(scope="module")
def free_try_frames(free_try: tuple[ClipInfo, Path, Path]) -> list[np.ndarray]:
    return luma_frames(free_try[1])


# --- the free-try clip (local motion, intro, watermark) ----------------------------------


def test_free_try_clip_is_5_5_seconds_of_24_fps_h264_high_at_720p(
    free_try: tuple[ClipInfo, Path, Path],
) -> None:
    info, video, _ = free_try
    media = probe(video)
    assert_stored_clip_format(media, (1280, 720), frames=132)
    assert media.video is not None
    assert media.video.duration == pytest.approx(5.5, abs=FRAME)
    assert info == ClipInfo(
        duration=media.video.duration,
        frames=132,
        width=1280,
        height=720,
        size_bytes=video.stat().st_size,
    )


def test_free_try_clip_is_faststart(free_try: tuple[ClipInfo, Path, Path]) -> None:
    assert_faststart(free_try[1])


def test_free_try_clip_holds_the_intro_still_then_moves(
    free_try_frames: list[np.ndarray],
) -> None:
    intro = free_try_frames[:INTRO_FRAMES]
    assert all(mad(frame, intro[0]) < 0.5 for frame in intro)
    motion = free_try_frames[INTRO_FRAMES:]
    # The motion starts where the intro stands, from rest (the first motion frame is a
    # keyframe, hence a little compression noise).
    assert mad(motion[0], intro[-1]) < 1.0
    assert mad(motion[-1], motion[0]) > 5


def test_free_try_motion_is_smooth_without_jumps(free_try_frames: list[np.ndarray]) -> None:
    frames = [shrink(f) for f in free_try_frames[INTRO_FRAMES:]]
    steps = np.array([mad(a, b) for a, b in pairwise(frames)])
    assert steps.max() < 2.5, "consecutive frames differ too much: the motion is not gentle"
    # A keyframe re-quantises the whole picture: the step into one is compression noise,
    # not motion, so it is left out. What remains must change gradually; integer-pixel
    # motion (ffmpeg's zoompan) scores about 0.75 here.
    into_keyframe = np.array(
        [(INTRO_FRAMES + i + 1) % CLIP_ENCODING.gop_frames == 0 for i in range(len(steps))]
    )
    even = steps[~into_keyframe]
    roughness = np.abs(even[1:-1] - (even[:-2] + even[2:]) / 2)
    assert roughness.max() < 0.35 * even.max()


def test_free_try_motion_follows_the_plan_frame_by_frame(
    free_try_frames: list[np.ndarray], phone_photo: Path
) -> None:
    with Image.open(phone_photo) as image:
        photo = image.convert("RGB")
    plan = motion_plan(*photo.size, out_size=(1280, 720), seed=SEED)
    top = slice(0, 400)  # above the watermark

    def expected(i: int) -> np.ndarray:
        w = plan.window(i)
        box = (w.x, w.y, w.x + w.w, w.y + w.h)
        return bt709_luma(np.asarray(photo.resize((1280, 720), Image.Resampling.LANCZOS, box=box)))

    # Each frame matches its own planned window better than its neighbours' (which are
    # less than two pixels away mid-motion): the timing is exact to the frame.
    for i in (30, 60, 90):
        frame = free_try_frames[INTRO_FRAMES + i][top]
        here = psnr(frame, expected(i)[top])
        assert here > 34
        assert here > psnr(frame, expected(i - 1)[top])
        assert here > psnr(frame, expected(i + 1)[top])


def test_free_try_poster_is_an_upright_jpeg_of_a_motion_frame(
    free_try: tuple[ClipInfo, Path, Path], free_try_frames: list[np.ndarray]
) -> None:
    poster_path = free_try[2]
    with Image.open(poster_path) as poster:
        assert poster.format == "JPEG"
        assert poster.size == (1280, 720)
        luma = bt709_luma(np.asarray(poster.convert("RGB")))
    distances = [mad(luma, frame) for frame in free_try_frames]
    closest = int(np.argmin(distances))
    assert closest >= INTRO_FRAMES
    assert abs(closest - (INTRO_FRAMES + 60)) <= 1
    assert distances[closest] < 3


# --- sizes and watermark -----------------------------------------------------------------


@pytest.mark.parametrize("aspect", sorted(ASPECT_SIZES))
async def test_local_clip_has_the_exact_size_of_its_aspect(
    aspect: str, phone_photo: Path, tmp_path: Path
) -> None:
    video, poster = tmp_path / "clip.mp4", tmp_path / "poster.jpg"
    info = await make_local_clip(phone_photo, video, poster, aspect=aspect, seed=1, duration=1.0)
    size = ASPECT_SIZES[aspect]
    assert_stored_clip_format(probe(video), size, frames=24)
    assert (info.width, info.height, info.frames) == (*size, 24)
    with Image.open(poster) as image:
        assert image.format == "JPEG" and image.size == size
    assert leftovers(tmp_path) == ["clip.mp4", "poster.jpg"]


@pytest.mark.parametrize("tone", ["light", "dark"])
async def test_watermark_shows_bottom_right_on_light_and_dark_photos(
    tone: str, tmp_path: Path
) -> None:
    level = 225 if tone == "light" else 25
    photo = textured_photo(tmp_path / "photo.jpg", size=(1600, 1000), level=level, spread=50)
    png = tmp_path / "wm.png"
    png.write_bytes(render_watermark_png(1280, 720))
    with Image.open(png) as mark:
        mark_alpha = np.asarray(mark)[..., 3]
        mark_w, mark_h = mark.size
    marked, plain = tmp_path / "marked.mp4", tmp_path / "plain.mp4"
    await render_motion(photo, marked, aspect="16:9", duration=0.5, seed=2, watermark=png)
    await render_motion(photo, plain, aspect="16:9", duration=0.5, seed=2)
    with_mark, without = luma_frames(marked)[6], luma_frames(plain)[6]

    x, y = watermark_overlay_position(1280, 720, mark_w, mark_h)
    region = (slice(y, y + mark_h), slice(x, x + mark_w))
    ink = mark_alpha > 230  # the white glyphs
    pill = (mark_alpha > 60) & (mark_alpha < 200)
    marked_region, plain_region = with_mark[region], without[region]

    # Without a watermark the corner is just the photo; with one the glyphs are bright
    # and stand clear of the darkened pill around them.
    assert abs(float(plain_region[ink].mean()) - float(plain_region[pill].mean())) < 10
    assert marked_region[ink].mean() > 190
    assert marked_region[ink].mean() - marked_region[pill].mean() > 60
    if tone == "light":
        assert marked_region[pill].mean() < plain_region[pill].mean() - 60
    # Nothing changes outside the watermark.
    outside = np.ones_like(with_mark, dtype=bool)
    outside[y - 4 : y + mark_h + 4, x - 4 : x + mark_w + 4] = False
    assert mad(with_mark[outside], without[outside]) < 0.5


# --- finishing provider videos -----------------------------------------------------------


@pytest.fixture(scope="module")
def provider_video(workdir: Path) -> Path:
    """Shaped like a provider's output: 854x480, 30 fps, MPEG-4 Part 2, with an AAC track."""
    return make_source_video(
        workdir / "provider.mp4",
        "-f", "lavfi", "-i", "testsrc2=size=854x480:rate=30",
        "-f", "lavfi", "-i", "sine=frequency=440",
        "-t", "3", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "aac",
    )


async def test_finish_clip_normalises_a_provider_video_with_intro_and_watermark(
    provider_video: Path, phone_photo: Path, tmp_path: Path
) -> None:
    video, poster = tmp_path / "clip.mp4", tmp_path / "poster.jpg"
    info = await finish_clip(
        provider_video,
        video,
        poster,
        aspect="9:16",
        intro_photo=phone_photo,
        intro_seconds=0.5,
        watermark=True,
        duration=2.0,
    )
    media = probe(video)
    assert_stored_clip_format(media, (720, 1280), frames=INTRO_FRAMES + 48)
    assert info.duration == pytest.approx(2.5, abs=FRAME)
    assert info.frames == 60
    assert_faststart(video)

    frames = luma_frames(video)
    assert all(mad(f, frames[0]) < 0.5 for f in frames[:INTRO_FRAMES])
    assert mad(frames[INTRO_FRAMES], frames[0]) > 20  # the provider's footage follows
    assert mad(frames[INTRO_FRAMES + 1], frames[INTRO_FRAMES]) > 0.5  # and it moves

    with Image.open(poster) as image:
        assert image.format == "JPEG" and image.size == (720, 1280)
        luma = bt709_luma(np.asarray(image.convert("RGB")))
    closest = int(np.argmin([mad(luma, f) for f in frames]))
    assert abs(closest - (INTRO_FRAMES + 24)) <= 1
    assert leftovers(tmp_path) == ["clip.mp4", "poster.jpg"]


async def test_finish_clip_without_duration_keeps_the_whole_source_at_24_fps(
    provider_video: Path, tmp_path: Path
) -> None:
    progress: list[float] = []
    info = await finish_clip(
        provider_video,
        tmp_path / "clip.mp4",
        tmp_path / "poster.jpg",
        aspect="16:9",
        duration=None,
        progress=progress.append,
    )
    assert_stored_clip_format(probe(tmp_path / "clip.mp4"), (1280, 720), frames=72)
    assert info.frames == 72
    assert progress[-1] == 1.0
    assert progress == sorted(progress)


async def test_finish_clip_turns_a_rotated_phone_video_upright(tmp_path: Path) -> None:
    # Stored landscape, white on top, tagged to be shown rotated a quarter turn: shown
    # upright, the white half is on one side, not on top.
    stored = make_source_video(
        tmp_path / "stored.mp4",
        "-f", "lavfi", "-i", "color=white:size=640x180:rate=24,pad=640:360:0:0:black",
        "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p",
    )
    rotated = make_source_video(
        tmp_path / "rotated.mp4", "-display_rotation", "90", "-i", str(stored), "-c", "copy"
    )
    video = tmp_path / "clip.mp4"
    await finish_clip(rotated, video, tmp_path / "poster.jpg", aspect="9:16", duration=None)
    frame = luma_frames(video)[0]
    h, w = frame.shape
    assert (w, h) == (720, 1280)
    left, right = frame[:, : w // 2].mean(), frame[:, w // 2 :].mean()
    top, bottom = frame[: h // 2].mean(), frame[h // 2 :].mean()
    assert abs(left - right) > 150
    assert abs(top - bottom) < 20


async def test_finish_clip_refuses_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match="not an MP4/MOV or WebM video"):
        await finish_clip(
            PHOTOS / "bad_not_an_image.jpg",
            tmp_path / "clip.mp4",
            tmp_path / "poster.jpg",
            aspect="16:9",
        )
    assert leftovers(tmp_path) == []


async def test_finish_clip_never_reads_a_provider_playlist_or_the_files_it_names(tmp_path: Path) -> None:
    """A provider "video" that is really an HLS playlist is refused by its bytes; even
    forced through as MP4 it is opened as that one local file only."""
    playlist = tmp_path / "output.mp4"
    playlist.write_text("#EXTM3U\n#EXTINF:5.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    with pytest.raises(ClipError):
        await finish_clip(playlist, tmp_path / "clip.mp4", tmp_path / "poster.jpg", aspect="16:9")
    with pytest.raises(FFmpegError) as failure:
        await finish_clip(
            playlist, tmp_path / "clip.mp4", tmp_path / "poster.jpg", aspect="16:9", source_format="mov"
        )
    assert "passwd" not in failure.value.stderr
    assert not (tmp_path / "clip.mp4").exists()


def test_finish_argv_names_the_demuxer_and_allows_only_local_files(tmp_path: Path) -> None:
    argv = finish_argv(tmp_path / "in.mp4", tmp_path / "out.mp4", aspect="16:9", source_format="matroska")
    first_input = argv.index("-i")
    assert argv[first_input - 4 : first_input + 2] == [
        "-f", "matroska", "-protocol_whitelist", "file", "-i", str(tmp_path / "in.mp4"),
    ]


# --- running ffmpeg: failures, progress, cancellation ------------------------------------


async def test_run_ffmpeg_raises_with_ffmpegs_own_reason(tmp_path: Path) -> None:
    with pytest.raises(FFmpegError, match="No such file"):
        await run_ffmpeg(ffmpeg_cmd("-i", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4")))


async def test_run_ffmpeg_reports_progress_up_to_one(tmp_path: Path) -> None:
    reports: list[float] = []
    argv = ffmpeg_cmd(
        "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=24", "-t", "2", "-f", "null", "-"
    )
    await run_ffmpeg(argv, progress=reports.append, total_seconds=2.0)
    assert reports and reports[-1] == 1.0
    assert reports == sorted(reports)
    assert all(0.0 <= r <= 1.0 for r in reports)


async def test_run_ffmpeg_needs_a_total_to_report_progress() -> None:
    with pytest.raises(ValueError):
        await run_ffmpeg(ffmpeg_cmd("-version"), progress=lambda _: None)


async def cancel_once_started(start: Callable[[Callable[[float], None]], object]) -> None:
    """Run ``start(progress)`` as a task, cancel it at its first progress report."""
    started = asyncio.Event()
    task = asyncio.ensure_future(start(lambda _: started.set()))  # type: ignore[arg-type]
    waiter = asyncio.ensure_future(started.wait())
    done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    assert waiter in done, "the render finished before it could be cancelled"
    assert ffmpeg_children(), "ffmpeg should be running"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_cancelled_motion_render_leaves_no_process_and_no_file(
    phone_photo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "clip.mp4"
    await cancel_once_started(
        lambda progress: render_motion(phone_photo, out, aspect="16:9", progress=progress)
    )
    assert ffmpeg_children() == []
    assert leftovers(tmp_path) == []


async def test_cancelled_free_try_clip_leaves_no_process_and_no_files(
    phone_photo: Path, tmp_path: Path
) -> None:
    await cancel_once_started(
        lambda progress: make_local_clip(
            phone_photo,
            tmp_path / "clip.mp4",
            tmp_path / "poster.jpg",
            aspect="1:1",
            seed=3,
            intro_seconds=0.5,
            watermark=True,
            progress=progress,
        )
    )
    assert ffmpeg_children() == []
    assert leftovers(tmp_path) == []


def test_atomic_output_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".mp4"
        tmp.write_bytes(b"half")
        raise RuntimeError("encode failed")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == ["clip.mp4"]


def test_atomic_output_replaces_the_file_on_success(tmp_path: Path) -> None:
    target = tmp_path / "poster.jpg"
    with atomic_output(target) as tmp:
        Image.new("RGB", (4, 4)).save(tmp)
        assert not target.exists()
    with Image.open(io.BytesIO(target.read_bytes())) as image:
        assert image.format == "JPEG"
    assert leftovers(tmp_path) == ["poster.jpg"]
