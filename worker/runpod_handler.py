"""The GPU side of the Runpod provider: a Runpod serverless handler.

Deploy it as a Runpod serverless *queue* endpoint whose container image holds this
repository with ``runpod==1.12.0`` installed and runs ``python -m worker.runpod_handler``
(that calls ``runpod.serverless.start({"handler": handler})``). The app side is
:class:`worker.providers.runpod.RunpodProvider`.

**Input** (``job["input"]``):

- ``image_base64``: the photo (JPEG, PNG or WebP), base64; a ``data:image/...;base64,``
  URI is accepted too — or ``image_url``: an http(s) URL to fetch it from. Exactly one.
- ``aspect``: ``"16:9"``, ``"9:16"`` or ``"1:1"``.
- ``duration``: seconds of video, 1 to 10 (default 5).
- ``seed``: integer (default 0); the same photo and seed give the same clip.
- ``prompt``: optional text, at most 1000 characters (the built-in model ignores it).

**Output**: ``{"video_base64": ..., "content_type": "video/mp4", "model": ...}``, or with a
bucket configured ``{"video_url": ..., "content_type": "video/mp4", "model": ...}``. Bad
input returns ``{"error": "..."}``, which Runpod turns into a FAILED job with that message;
any other exception becomes a FAILED job carrying the exception (Runpod's own handling).

**The model.** By default the handler runs the built-in model: the local pan-and-zoom of
:func:`assembly.motion.render_motion` (CPU and ffmpeg only, honest but not AI). To run a
real image-to-video model on the GPU host set ``ECHOES_I2V_MODEL=package.module:function``.
The module is imported once per worker process (load weights at import time) and the
function is called for every job as::

    def generate(photo: pathlib.Path, out: pathlib.Path, *, aspect: str,
                 duration: float, seed: int, prompt: str | None) -> None

(``async def`` is fine too; a sync function runs in a thread.) ``photo`` is an upright
RGB JPEG; the function writes an MP4 to ``out``, any size or frame rate — the app
normalises every clip — of roughly ``duration`` seconds, framed for ``aspect``. The
``model`` field of the output then names the function.

**Uploading instead of inlining** (optional). Runpod keeps a job's output in its queue, and
base64 makes a video a third larger, so large outputs are better uploaded to an
S3-compatible bucket. Set ``BUCKET_ENDPOINT_URL``, ``BUCKET_ACCESS_KEY_ID`` and
``BUCKET_SECRET_ACCESS_KEY`` (the names Runpod's own upload helper uses) and
``ECHOES_OUTPUT_BUCKET``; optionally ``ECHOES_OUTPUT_BUCKET_REGION`` and
``ECHOES_OUTPUT_URL_TTL`` (seconds a presigned URL stays valid, default 3600). The clip is then put at ``<job id>/clip.mp4`` and the output
carries a presigned GET URL. This needs ``boto3``, which ``runpod`` already installs.

Only :func:`handler_config` reads the environment.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import importlib
import inspect
import io
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageOps, UnidentifiedImageError

from assembly.encoding import ASPECT_SIZES
from assembly.motion import render_motion

BUILTIN_MODEL = "local-motion"
MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
MIN_IMAGE_SIDE = 64
MIN_DURATION, MAX_DURATION = 1, 10
MAX_PROMPT_CHARS = 1000
IMAGE_FETCH_TIMEOUT = 30.0
_INPUT_FIELDS = frozenset({"image_base64", "image_url", "aspect", "duration", "seed", "prompt"})


@dataclass(frozen=True, kw_only=True)
class HandlerConfig:
    model: str | None = None
    bucket_endpoint_url: str | None = None
    bucket_access_key_id: str | None = None
    bucket_secret_access_key: str | None = None
    bucket_name: str | None = None
    bucket_region: str | None = None
    url_ttl: int = 3600

    @property
    def uploads(self) -> bool:
        return bool(self.bucket_endpoint_url)


def handler_config(environ: Mapping[str, str] | None = None) -> HandlerConfig:
    """The handler's settings, from the GPU host's environment (see the module docstring)."""
    env = os.environ if environ is None else environ
    config = HandlerConfig(
        model=env.get("ECHOES_I2V_MODEL") or None,
        bucket_endpoint_url=env.get("BUCKET_ENDPOINT_URL") or None,
        bucket_access_key_id=env.get("BUCKET_ACCESS_KEY_ID") or None,
        bucket_secret_access_key=env.get("BUCKET_SECRET_ACCESS_KEY") or None,
        bucket_name=env.get("ECHOES_OUTPUT_BUCKET") or None,
        bucket_region=env.get("ECHOES_OUTPUT_BUCKET_REGION") or None,
        url_ttl=int(env.get("ECHOES_OUTPUT_URL_TTL") or 3600),
    )
    if config.uploads and not (
        config.bucket_access_key_id and config.bucket_secret_access_key and config.bucket_name
    ):
        raise RuntimeError(
            "BUCKET_ENDPOINT_URL is set, so BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY and "
            "ECHOES_OUTPUT_BUCKET must be set too"
        )
    return config


class InvalidInput(ValueError):
    """The job's input breaks the contract; the message says how."""


@dataclass(frozen=True, kw_only=True)
class MotionJob:
    image: bytes | None
    image_url: str | None
    aspect: str
    duration: float
    seed: int
    prompt: str | None


def parse_input(raw: object) -> MotionJob:
    """Validate ``job["input"]``; raises :class:`InvalidInput` naming the offending field."""
    if not isinstance(raw, dict):
        raise InvalidInput("input must be a JSON object")
    unknown = sorted(set(raw) - _INPUT_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown input fields: {', '.join(unknown)}")
    has_data, has_url = raw.get("image_base64") is not None, raw.get("image_url") is not None
    if has_data == has_url:
        raise InvalidInput("give exactly one of image_base64 and image_url")

    image = image_url = None
    if has_data:
        encoded = raw["image_base64"]
        if not isinstance(encoded, str) or not encoded:
            raise InvalidInput("image_base64 must be a non-empty string")
        if encoded.startswith("data:"):
            header, _, encoded = encoded.partition(",")
            if not header.endswith(";base64"):
                raise InvalidInput("image_base64 data URI must be base64-encoded")
        if len(encoded) * 3 // 4 > MAX_IMAGE_BYTES:
            raise InvalidInput(f"image_base64 is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
        try:
            image = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("image_base64 is not valid base64") from None
    else:
        image_url = raw["image_url"]
        if not isinstance(image_url, str) or not image_url.startswith(("https://", "http://")):
            raise InvalidInput("image_url must be an http(s) URL")

    aspect = raw.get("aspect")
    if aspect not in ASPECT_SIZES:
        raise InvalidInput(f"aspect must be one of {', '.join(ASPECT_SIZES)}, not {aspect!r}")
    duration = raw.get("duration", 5)
    if (
        isinstance(duration, bool)
        or not isinstance(duration, int | float)
        or not MIN_DURATION <= duration <= MAX_DURATION
    ):
        raise InvalidInput(
            f"duration must be a number from {MIN_DURATION} to {MAX_DURATION} seconds"
        )
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidInput("seed must be an integer")
    prompt = raw.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or len(prompt) > MAX_PROMPT_CHARS):
        raise InvalidInput(f"prompt must be text of at most {MAX_PROMPT_CHARS} characters")
    return MotionJob(
        image=image,
        image_url=image_url,
        aspect=str(aspect),
        duration=float(duration),
        seed=seed,
        prompt=prompt or None,
    )


async def handler(job: dict[str, Any]) -> dict[str, Any]:
    """Runpod's entry point: one job in, one video (or ``{"error": ...}``) out."""
    config = handler_config()
    try:
        spec = parse_input(job.get("input"))
        image = spec.image if spec.image is not None else await _fetch_image(str(spec.image_url))
    except InvalidInput as exc:
        return {"error": str(exc)}

    with tempfile.TemporaryDirectory(prefix="echoes-runpod-") as tmp:
        photo, out = Path(tmp) / "photo.jpg", Path(tmp) / "clip.mp4"
        try:
            await asyncio.to_thread(_write_upright_jpeg, image, photo)
        except InvalidInput as exc:
            return {"error": str(exc)}
        model = await _generate(config.model, photo, out, spec)
        if not out.is_file() or out.stat().st_size == 0:
            raise RuntimeError(f"the model {model} wrote no video")
        if config.uploads:
            url = await asyncio.to_thread(_upload, config, out, str(job.get("id") or "job"))
            return {"video_url": url, "content_type": "video/mp4", "model": model}
        encoded = base64.b64encode(await asyncio.to_thread(out.read_bytes)).decode("ascii")
        return {"video_base64": encoded, "content_type": "video/mp4", "model": model}


async def _fetch_image(url: str) -> bytes:
    try:
        async with (
            httpx.AsyncClient(timeout=IMAGE_FETCH_TIMEOUT, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if not response.is_success:
                raise InvalidInput(f"image_url answered HTTP {response.status_code}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise InvalidInput(f"image_url is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise InvalidInput(f"image_url could not be fetched ({type(exc).__name__})") from exc
    return b"".join(chunks)


def _write_upright_jpeg(data: bytes, dest: Path) -> None:
    """Decode the photo (bounded), turn it upright and save it as the RGB JPEG models expect."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise InvalidInput(f"the image is over {MAX_IMAGE_PIXELS // 1_000_000} megapixels")
            if getattr(image, "is_animated", False):
                raise InvalidInput("the image is animated; send a still photo")
            upright = ImageOps.exif_transpose(image).convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise InvalidInput(f"the image cannot be decoded ({exc})") from None
    if min(upright.size) < MIN_IMAGE_SIDE:
        raise InvalidInput(
            f"the image is {upright.width}x{upright.height}; both sides must be at least "
            f"{MIN_IMAGE_SIDE} pixels"
        )
    upright.save(dest, "JPEG", quality=95)


@functools.cache
def load_model(spec: str) -> Callable[..., Any]:
    """The function named by ``ECHOES_I2V_MODEL`` (``package.module:function``), imported once."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise RuntimeError(f"ECHOES_I2V_MODEL must look like package.module:function, not {spec!r}")
    function = getattr(importlib.import_module(module_name), attr, None)
    if not callable(function):
        raise RuntimeError(f"ECHOES_I2V_MODEL {spec!r} does not name a function")
    return function


async def _generate(model: str | None, photo: Path, out: Path, spec: MotionJob) -> str:
    """Run the configured model (or the built-in one); returns the model's name."""
    if model is None:
        await render_motion(photo, out, aspect=spec.aspect, duration=spec.duration, seed=spec.seed)
        return BUILTIN_MODEL
    function = load_model(model)
    kwargs = {
        "aspect": spec.aspect,
        "duration": spec.duration,
        "seed": spec.seed,
        "prompt": spec.prompt,
    }
    if inspect.iscoroutinefunction(function):
        await function(photo, out, **kwargs)
    else:
        await asyncio.to_thread(function, photo, out, **kwargs)
    return model


def _upload(config: HandlerConfig, video: Path, job_id: str) -> str:
    """Put the clip in the output bucket; returns a presigned GET URL for it."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "s3",
        endpoint_url=config.bucket_endpoint_url,
        aws_access_key_id=config.bucket_access_key_id,
        aws_secret_access_key=config.bucket_secret_access_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        region_name=config.bucket_region,
    )
    key = f"{job_id}/clip.mp4"
    with video.open("rb") as body:
        client.put_object(Bucket=config.bucket_name, Key=key, Body=body, ContentType="video/mp4")
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": config.bucket_name, "Key": key}, ExpiresIn=config.url_ttl
    )


if __name__ == "__main__":
    import runpod

    runpod.serverless.start({"handler": handler})
