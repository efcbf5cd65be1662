"""The chain's schedule: retry backoff, Retry-After, poll intervals."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from api.config import Settings
from worker.providers.base import JobState, JobStatus, TransientProviderError
from worker.providers.chain import ChainPolicy


def transient(retry_after: float | None = None) -> TransientProviderError:
    return TransientProviderError("busy", provider="runway", retry_after=retry_after)


def test_without_jitter_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = ChainPolicy(backoff_base=1.0, backoff_max=30.0, jitter=0.0)
    rng = random.Random(0)
    assert [policy.backoff(n, rng) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_jitter_takes_off_at_most_its_share_and_spreads_the_retries() -> None:
    policy = ChainPolicy(backoff_base=2.0, jitter=0.5)
    rng = random.Random(1)
    delays = [policy.backoff(2, rng) for _ in range(200)]
    assert all(2.0 <= d <= 4.0 for d in delays)
    assert max(delays) - min(delays) > 1.5


def test_a_retry_after_is_waited_exactly() -> None:
    policy = ChainPolicy(jitter=0.0)
    assert policy.retry_delay(transient(7.0), 1, random.Random(0)) == 7.0
    assert policy.retry_delay(transient(0.0), 3, random.Random(0)) == 0.0


def test_without_retry_after_the_backoff_applies() -> None:
    policy = ChainPolicy(jitter=0.0)
    assert policy.retry_delay(transient(), 3, random.Random(0)) == 4.0


def test_a_retry_after_longer_than_the_limit_means_move_on() -> None:
    policy = ChainPolicy(max_retry_after=60)
    assert policy.retry_delay(transient(60.0), 1, random.Random(0)) == 60.0
    assert policy.retry_delay(transient(3600.0), 1, random.Random(0)) is None


def test_polls_start_fast_and_slow_down_to_the_configured_interval() -> None:
    policy = ChainPolicy(poll_initial=1.0, poll_max=5.0, poll_growth=1.5)
    delays, previous = [], None
    for _ in range(7):
        previous = policy.next_poll(previous)
        delays.append(previous)
    assert delays == [1.0, 1.5, 2.25, 3.375, 5.0, 5.0, 5.0]


def test_a_throttled_job_is_polled_at_the_slowest_rate() -> None:
    policy = ChainPolicy(poll_initial=1.0, poll_max=5.0)
    throttled = JobStatus(JobState.QUEUED, poll_after=10.0)
    assert policy.next_poll(None, throttled) == 5.0
    assert policy.next_poll(None, JobStatus(JobState.QUEUED, poll_after=2.0)) == 2.0


def test_the_policy_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "ECHOES_ENV": "test",
            "ECHOES_VAR_DIR": str(tmp_path),
            "SECRET_KEY": "k" * 40,
            "PROVIDER_TIMEOUT_SECONDS": "300",
            "PROVIDER_ATTEMPTS": "4",
            "PROVIDER_COOLDOWN_SECONDS": "90",
            "PROVIDER_POLL_SECONDS": "8",
        }
    )
    policy = ChainPolicy.from_settings(settings)
    assert (policy.timeout, policy.attempts, policy.cooldown) == (300, 4, 90)
    assert (policy.poll_initial, policy.poll_max) == (1.0, 8.0)


@pytest.mark.parametrize(
    "options",
    [{"attempts": 0}, {"jitter": 1.5}, {"timeout": 0}, {"poll_initial": 2.0, "poll_max": 1.0}],
)
def test_nonsense_policies_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ChainPolicy(**options)  # type: ignore[arg-type]
