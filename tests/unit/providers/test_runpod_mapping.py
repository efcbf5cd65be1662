"""Runpod's pure mappings: job policy and status JSON -> JobStatus."""

from __future__ import annotations

import json

import pytest

from worker.providers.base import JobState, ProviderFailed
from worker.providers.runpod import job_policy, parse_job


def test_the_policy_stops_the_job_when_the_chain_gives_up_on_it() -> None:
    assert job_policy(600) == {"executionTimeout": 600_000, "ttl": 660_000}


def test_the_policy_respects_runpods_minimums() -> None:
    assert job_policy(1) == {"executionTimeout": 5001, "ttl": 65_001}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("IN_QUEUE", JobState.QUEUED),
        ("IN_PROGRESS", JobState.RUNNING),
        ("RUNNING", JobState.RUNNING),
        ("CANCELLED", JobState.CANCELLED),
    ],
)
def test_unfinished_and_cancelled_statuses_map_to_job_states(status: str, state: JobState) -> None:
    parsed = parse_job({"id": "j", "status": status, "delayTime": 120})
    assert parsed.state is state
    assert parsed.extra["delay_ms"] == 120


def test_a_completed_job_carries_its_inline_video() -> None:
    parsed = parse_job(
        {
            "id": "j",
            "status": "COMPLETED",
            "delayTime": 5,
            "executionTime": 900,
            "output": {
                "video_base64": "AAAA",
                "content_type": "video/mp4",
                "model": "local-motion",
            },
        }
    )
    assert parsed.state is JobState.SUCCEEDED
    assert parsed.extra["video_base64"] == "AAAA"
    assert (parsed.extra["model"], parsed.extra["execution_ms"]) == ("local-motion", 900)
    assert parsed.output_urls == ()


def test_a_completed_job_with_an_uploaded_video_carries_its_url() -> None:
    parsed = parse_job(
        {"id": "j", "status": "COMPLETED", "output": {"video_url": "https://b/v.mp4"}}
    )
    assert parsed.output_urls == ("https://b/v.mp4",)


@pytest.mark.parametrize("output", [None, "done", {"something": "else"}])
def test_a_completed_job_without_a_video_is_a_failure(output: object) -> None:
    with pytest.raises(ProviderFailed) as failed:
        parse_job({"id": "j", "status": "COMPLETED", "output": output})
    assert failed.value.code == "no_output"


def test_a_failed_job_keeps_the_handlers_message() -> None:
    parsed = parse_job({"id": "j", "status": "FAILED", "error": "aspect must be one of 16:9"})
    assert (parsed.state, parsed.failure_code) == (JobState.FAILED, "FAILED")
    assert parsed.failure == "aspect must be one of 16:9"


def test_a_handler_exception_is_summarised_from_runpods_json() -> None:
    error = json.dumps(
        {
            "error_type": "<class 'RuntimeError'>",
            "error_message": "CUDA out of memory",
            "error_traceback": "...",
        }
    )
    parsed = parse_job({"id": "j", "status": "FAILED", "error": error})
    assert parsed.failure == "<class 'RuntimeError'>: CUDA out of memory"


def test_a_timed_out_job_is_failed() -> None:
    parsed = parse_job({"id": "j", "status": "TIMED_OUT"})
    assert (parsed.state, parsed.failure_code) == (JobState.FAILED, "TIMED_OUT")
    assert "executionTimeout" in (parsed.failure or "")
