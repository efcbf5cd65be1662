"""The one interface every motion provider speaks (DESIGN §4).

A provider turns a photo into a short video: ``submit`` starts a job and returns a
:class:`JobRef`; ``status`` reports its :class:`JobStatus`; ``cancel`` stops it;
``download`` fetches the finished output at once (remote output URLs expire). The clip job
never talks to a provider directly: it goes through :class:`worker.providers.chain.ProviderChain`,
which adds retries with backoff, failover in the configured order and a circuit breaker.

Errors say what the chain should do next:

- :class:`TransientProviderError` — timeouts, connection errors, 429 and 5xx: retry this
  provider with backoff, then skip it for a cool-down and fail over.
- :class:`ProviderFailed` — the provider ran the job and it failed (e.g. a bad output):
  fail over to the next provider.
- :class:`ContentRefused` — a content-safety refusal (Runway ``SAFETY.*``): final. No
  failover (another provider is not a way around moderation); the clip fails with
  ``user_message``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable


class ProviderError(Exception):
    def __init__(self, message: str, *, provider: str, code: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.code = code


class TransientProviderError(ProviderError):
    def __init__(
        self, message: str, *, provider: str, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider, code=code)
        self.retry_after = retry_after


class ProviderFailed(ProviderError):
    pass


class ContentRefused(ProviderError):
    def __init__(self, message: str, *, provider: str, code: str | None, user_message: str) -> None:
        super().__init__(message, provider=provider, code=code)
        self.user_message = user_message


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class MotionRequest:
    """What to animate. ``photo_path`` is the normalised JPEG on local disk; ``photo_url`` a
    signed public HTTPS URL to the same photo when the deployment has one (remote providers
    may prefer it to inlining the bytes)."""

    photo_path: Path
    aspect: str
    duration: int = 5
    seed: int = 0
    prompt: str | None = None
    photo_url: str | None = None


@dataclass(frozen=True)
class JobRef:
    provider: str
    job_id: str


@dataclass(frozen=True)
class JobStatus:
    state: JobState
    progress: float | None = None
    output_urls: tuple[str, ...] = ()
    failure: str | None = None
    failure_code: str | None = None
    cost: float | None = None
    poll_after: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class MotionProvider(Protocol):
    name: str

    async def submit(self, request: MotionRequest) -> JobRef: ...

    async def status(self, ref: JobRef) -> JobStatus: ...

    async def cancel(self, ref: JobRef) -> None: ...

    async def download(self, ref: JobRef, status: JobStatus, dest: Path) -> None:
        """Write the finished video of a SUCCEEDED job to ``dest``."""
        ...
