"""Runway's pure mappings: aspect -> ratio, the inline-image rule, task JSON -> JobStatus."""

from __future__ import annotations

import pytest

from worker.providers.base import ContentRefused, JobState, ProviderFailed
from worker.providers.runway import (
    DATA_URI_LIMIT,
    REFUSAL_MESSAGE,
    THROTTLED_POLL_SECONDS,
    data_uri_size,
    failure_error,
    is_safety_failure,
    parse_task,
    runway_ratio,
    sniff_image_type,
)


@pytest.mark.parametrize(
    ("aspect", "ratio"), [("16:9", "1280:720"), ("9:16", "720:1280"), ("1:1", "960:960")]
)
def test_each_project_aspect_maps_to_runways_output_size(aspect: str, ratio: str) -> None:
    assert runway_ratio(aspect) == ratio


def test_an_aspect_runway_has_no_ratio_for_is_a_failure() -> None:
    with pytest.raises(ProviderFailed, match="4:3"):
        runway_ratio("4:3")


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\r", "image/png"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
    ],
)
def test_photos_are_typed_by_their_bytes(head: bytes, mime: str | None) -> None:
    assert sniff_image_type(head) == mime


def test_the_data_uri_size_counts_the_prefix_and_base64_growth() -> None:
    assert data_uri_size(3, "image/jpeg") == len("data:image/jpeg;base64,") + 4
    assert data_uri_size(4, "image/jpeg") == len("data:image/jpeg;base64,") + 8


def test_the_largest_photo_that_still_goes_inline_is_just_under_5_mb_encoded() -> None:
    largest = max(
        n for n in range(3_900_000, 3_940_000, 3) if data_uri_size(n, "image/jpeg") < DATA_URI_LIMIT
    )
    assert (
        data_uri_size(largest, "image/jpeg")
        < DATA_URI_LIMIT
        <= data_uri_size(largest + 3, "image/jpeg")
    )
    assert largest == pytest.approx(DATA_URI_LIMIT * 3 / 4, rel=1e-4)


def test_pending_and_throttled_tasks_are_queued_and_throttled_ones_polled_slowly() -> None:
    pending = parse_task({"id": "t", "status": "PENDING", "estimatedCost": {"credits": 25}})
    throttled = parse_task({"id": "t", "status": "THROTTLED", "estimatedCost": {"credits": 25}})
    assert pending.state is throttled.state is JobState.QUEUED
    assert pending.poll_after is None
    assert throttled.poll_after == THROTTLED_POLL_SECONDS
    assert throttled.extra == {"runway_status": "THROTTLED", "estimated_credits": 25.0}


def test_a_running_task_reports_its_progress() -> None:
    status = parse_task({"id": "t", "status": "RUNNING", "progress": 0.42})
    assert (status.state, status.progress) == (JobState.RUNNING, 0.42)


def test_a_succeeded_task_gives_its_outputs_and_cost_in_dollars() -> None:
    status = parse_task(
        {"id": "t", "status": "SUCCEEDED", "output": ["https://cdn/a.mp4"], "cost": {"credits": 25}}
    )
    assert status.state is JobState.SUCCEEDED
    assert status.output_urls == ("https://cdn/a.mp4",)
    assert status.cost == 0.25


def test_a_failed_task_keeps_its_failure_and_code() -> None:
    status = parse_task(
        {"id": "t", "status": "FAILED", "failure": "flagged", "failureCode": "SAFETY.INPUT.IMAGE"}
    )
    assert (status.state, status.failure, status.failure_code) == (
        JobState.FAILED,
        "flagged",
        "SAFETY.INPUT.IMAGE",
    )


def test_cancelled_or_deleted_tasks_read_as_cancelled() -> None:
    assert parse_task({"id": "t", "status": "CANCELLED"}).state is JobState.CANCELLED


def test_an_unknown_status_is_a_failure_not_a_guess() -> None:
    with pytest.raises(ProviderFailed, match="EXPLODED"):
        parse_task({"id": "t", "status": "EXPLODED"})


@pytest.mark.parametrize(
    ("code", "refused"),
    [
        ("SAFETY.INPUT.TEXT", True),
        ("SAFETY.OUTPUT.VIDEO", True),
        ("INPUT_PREPROCESSING.SAFETY.TEXT", True),
        ("INPUT_PREPROCESSING.INTERNAL", False),
        ("INTERNAL.BAD_OUTPUT.CODE01", False),
        ("ASSET.INVALID", False),
        (None, False),
    ],
)
def test_only_safety_codes_are_content_refusals(code: str | None, refused: bool) -> None:
    assert is_safety_failure(code) is refused
    error = failure_error(
        parse_task({"id": "t", "status": "FAILED", "failure": "no", "failureCode": code})
    )
    assert isinstance(error, ContentRefused) is refused
    assert isinstance(error, ProviderFailed) is not refused
    if refused:
        assert isinstance(error, ContentRefused) and error.user_message == REFUSAL_MESSAGE
