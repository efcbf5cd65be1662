"""The Runpod handler called the way Runpod calls it: real photos in, real MP4s out."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from assembly.probe import MediaInfo, probe
from tests.fakes._threaded_http import FakeHTTPServer, FakeRequest, Reply
from tests.integration.providers.conftest import STRIPED_MODEL
from tests.paths import PHOTOS, REPO_ROOT
from worker.runpod_handler import BUILTIN_MODEL, handler


class PhotoServer(FakeHTTPServer):
    def route(self, request: FakeRequest) -> Reply:
        if request.path == "/photo.jpg":
            return Reply(200, (PHOTOS / "hubble.jpg").read_bytes(), {"Content-Type": "image/jpeg"})
        return Reply(404, b"missing")


@pytest.fixture
def photo_server() -> Iterator[PhotoServer]:
    with PhotoServer() as server:
        yield server


def decoded(output: dict[str, Any], tmp_path: Path) -> MediaInfo:
    assert output["content_type"] == "video/mp4"
    path = tmp_path / "out.mp4"
    path.write_bytes(base64.b64decode(output["video_base64"], validate=True))
    return probe(path)


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


async def test_a_base64_photo_becomes_a_clip_of_the_asked_shape(tmp_path: Path) -> None:
    output = await handler(
        {
            "id": "job-1",
            "input": {
                "image_base64": b64(PHOTOS / "coffee.jpg"),
                "aspect": "1:1",
                "duration": 1,
                "seed": 4,
            },
        }
    )
    assert output["model"] == BUILTIN_MODEL
    info = decoded(output, tmp_path)
    assert info.video is not None and info.audio is None
    assert (info.video.codec, info.video.width, info.video.height) == ("h264", 960, 960)
    assert (info.video.fps, info.video.frames) == (24, 24)


async def test_a_sideways_phone_photo_is_turned_upright_first(tmp_path: Path) -> None:
    """The 12 MP photo is stored sideways with EXIF orientation 6; a 9:16 clip of the
    upright (portrait) photo needs no cropping of its sides to speak of."""
    uri = "data:image/jpeg;base64," + b64(PHOTOS / "phone_12mp_orient6_gps.jpg")
    output = await handler(
        {"id": "job-2", "input": {"image_base64": uri, "aspect": "9:16", "duration": 1}}
    )
    info = decoded(output, tmp_path)
    assert info.video is not None
    assert (info.video.width, info.video.height) == (720, 1280)


async def test_a_photo_url_is_fetched(
    photo_server: PhotoServer, striped: list[dict[str, Any]], tmp_path: Path
) -> None:
    output = await handler(
        {
            "id": "job-3",
            "input": {
                "image_url": f"{photo_server.url}/photo.jpg",
                "aspect": "16:9",
                "duration": 1,
            },
        }
    )
    assert photo_server.count("GET", "/photo.jpg") == 1
    with Image.open(PHOTOS / "hubble.jpg") as original:
        assert [call["photo_size"] for call in striped] == [original.size]
    info = decoded(output, tmp_path)
    assert info.video is not None and info.video.frames == 25


@pytest.mark.parametrize(
    ("job_input", "message"),
    [
        ({"image_url": "/photo-missing.jpg", "aspect": "16:9"}, "HTTP 404"),
        (
            {"image_base64": b64(PHOTOS / "bad_truncated.jpg"), "aspect": "16:9"},
            "cannot be decoded",
        ),
        ({"image_base64": b64(PHOTOS / "bad_tiny.jpg"), "aspect": "16:9"}, "at least 64 pixels"),
        ({"image_base64": b64(PHOTOS / "bad_animated.gif"), "aspect": "16:9"}, "animated"),
        ({"image_base64": "not base64!", "aspect": "16:9"}, "not valid base64"),
    ],
)
async def test_photos_that_cannot_be_animated_return_an_error_for_the_job(
    photo_server: PhotoServer, job_input: dict[str, Any], message: str
) -> None:
    if "image_url" in job_input:
        job_input = {**job_input, "image_url": photo_server.url + job_input["image_url"]}
    output = await handler({"id": "job-4", "input": job_input})
    assert set(output) == {"error"}
    assert message in output["error"]


async def test_a_configured_model_is_imported_and_called_with_the_documented_arguments(
    striped: list[dict[str, Any]], tmp_path: Path
) -> None:
    output = await handler(
        {
            "id": "job-5",
            "input": {
                "image_base64": b64(PHOTOS / "coffee_alpha.png"),
                "aspect": "9:16",
                "duration": 2,
                "seed": 9,
                "prompt": "steam rising",
            },
        }
    )
    assert output["model"] == STRIPED_MODEL
    with Image.open(PHOTOS / "coffee_alpha.png") as original:
        size = original.size
    assert striped == [
        {
            "photo_format": "JPEG",
            "photo_mode": "RGB",
            "photo_size": size,
            "aspect": "9:16",
            "duration": 2.0,
            "seed": 9,
            "prompt": "steam rising",
        }
    ]
    info = decoded(output, tmp_path)
    assert info.video is not None
    assert (info.video.width, info.video.height, info.video.fps) == (640, 360, 25)


async def test_uploads_need_the_whole_bucket_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUCKET_ENDPOINT_URL", "https://bucket.example")
    with pytest.raises(RuntimeError, match="ECHOES_OUTPUT_BUCKET"):
        await handler(
            {"id": "job-6", "input": {"image_base64": b64(PHOTOS / "coffee.jpg"), "aspect": "1:1"}}
        )


@pytest.mark.slow
def test_the_module_runs_as_a_runpod_worker_with_the_real_runpod_runtime(tmp_path: Path) -> None:
    """``python -m worker.runpod_handler`` under runpod 1.12.0's local test mode."""
    job = {"input": {"image_base64": b64(PHOTOS / "chelsea.jpg"), "aspect": "1:1", "duration": 1}}
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("RUNPOD_", "BUCKET_", "ECHOES_I2V"))
    }
    done = subprocess.run(
        [sys.executable, "-m", "worker.runpod_handler", "--test_input", json.dumps(job)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Job local_test completed successfully." in done.stdout
    assert list(tmp_path.iterdir()) == []
    # Runpod truncates the logged result, but a job whose handler errs exits 1 with
    # "Job local_test failed"; this one produced its output.
    assert "Job result: {'output': {'video_base64': 'AAAAIGZ0eXBpc29t" in done.stdout
