"""Turning "make a video of this photo" into one finished file, whichever provider can.

:class:`ProviderChain` tries the configured providers in order. Each one gets a *turn*:

1. **submit**, retrying :class:`TransientProviderError` up to ``attempts`` times with
   exponential backoff and jitter — or exactly as long as the provider's ``Retry-After``
   asks, unless that is longer than ``max_retry_after``, in which case the turn ends at once
   (a provider out of daily quota is not worth waiting for);
2. **poll** the job's status, starting at ``poll_initial`` and growing to ``poll_max``
   (a throttled job is polled at ``poll_max``), reporting progress; transient errors while
   polling are retried the same way;
3. **download** the output at once (output URLs expire); an output URL that expired anyway
   is fetched again from the job's status, never paid for twice.

The whole turn has ``timeout`` seconds. Past it the remote job is cancelled and the turn
counts as a transient failure. A turn that ends in a transient failure, or in a
configuration error (a refused API key, a missing endpoint), opens the provider's circuit:
every worker process then skips that provider for ``cooldown`` seconds (longer if the
provider asked for a longer pause). Any failed turn moves on to the next provider, except
:class:`ContentRefused`, which is final: moderation is not something to route around.

If every provider fails, the chain raises one error that lists what happened to each:
:class:`TransientProviderError` when trying again later may help (something was transient
or skipped for its circuit), :class:`ProviderFailed` otherwise. Whether and when to retry,
and refunds, are the clip job's decisions.

A job submitted before a worker crashed can be *resumed*: the chain polls it instead of
submitting a new one (pass the :class:`JobRef` that ``on_submitted`` was given), even if
that provider's circuit is open: the job already exists. A resumed job that its provider no
longer knows gives that provider a normal turn.

If the caller stops waiting (its task is cancelled), remote jobs are left running so they
can be resumed; a provider whose jobs live in this process (``durable = False``: the local
provider) has its job cancelled, since nothing could pick it up again.

Every wait goes through a :class:`Clock`, so tests can run the schedule in virtual time.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.metrics import PROVIDER_FAILURES, PROVIDER_SECONDS, circuit_key
from worker.providers.base import (
    ContentRefused,
    JobRef,
    JobState,
    JobStatus,
    MotionProvider,
    MotionRequest,
    ProviderError,
    ProviderFailed,
    TransientProviderError,
)
from worker.providers.http import CODE_CONFIGURATION, CODE_NOT_FOUND, CODE_OUTPUT_GONE

if TYPE_CHECKING:
    from api.config import Settings

log = structlog.get_logger()

T = TypeVar("T")
ProgressCallback = Callable[[float], Awaitable[None]]
SubmittedCallback = Callable[[JobRef], Awaitable[None]]

CHAIN = "chain"
CODE_ALL_FAILED = "all_providers_failed"
CODE_TIMEOUT = "timeout"
CODE_CANCELLED = "cancelled"
# A resumed job that ended like this says nothing about the provider: give it a fresh turn.
_LOST_JOB_CODES = frozenset({CODE_NOT_FOUND, CODE_CANCELLED})


class Clock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True, kw_only=True)
class ChainPolicy:
    """How long and how often to wait. All durations in seconds."""

    attempts: int = 3
    timeout: float = 600.0
    cooldown: float = 120.0
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    poll_initial: float = 1.0
    poll_max: float = 5.0
    poll_growth: float = 1.5

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter is a fraction between 0 and 1")
        if self.timeout <= 0 or self.poll_initial <= 0 or self.poll_max < self.poll_initial:
            raise ValueError(
                "timeout and poll intervals must be positive, poll_max >= poll_initial"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ChainPolicy:
        poll_max = max(settings.provider_poll_seconds, 0.01)
        return cls(
            attempts=settings.provider_attempts,
            timeout=settings.provider_timeout_seconds,
            cooldown=float(settings.provider_cooldown_seconds),
            poll_initial=min(1.0, poll_max),
            poll_max=poll_max,
        )

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The pause after failed attempt number ``attempt`` (1-based): ``backoff_base``
        doubled each time up to ``backoff_max``, less a random share of up to ``jitter`` so
        that workers that failed together do not retry together."""
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return delay * (1 - self.jitter * rng.random())

    def retry_delay(
        self, error: TransientProviderError, attempt: int, rng: random.Random
    ) -> float | None:
        """The pause before retrying after ``error``; ``None`` when the provider asked for a
        longer pause than ``max_retry_after`` (then the chain moves on instead)."""
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        return self.backoff(attempt, rng)

    def next_poll(self, previous: float | None, status: JobStatus | None = None) -> float:
        """The pause before the next status poll: growing from ``poll_initial`` to
        ``poll_max``, and no shorter than the provider's ``poll_after`` (capped at ``poll_max``)."""
        delay = (
            self.poll_initial
            if previous is None
            else min(self.poll_max, previous * self.poll_growth)
        )
        if status is not None and status.poll_after is not None:
            delay = max(delay, min(status.poll_after, self.poll_max))
        return delay


class CircuitBreaker:
    """Which providers to skip for now, shared by every worker process through Redis.

    A provider's circuit is open while the key ``{prefix}provider-circuit:{name}`` exists;
    it expires on its own after the cool-down, and the next clip tries the provider again.
    A Redis failure here never stops a clip: the breaker then reads as closed.
    """

    def __init__(self, redis: Redis, prefix: str = "", cooldown: float = 120.0) -> None:
        self.redis = redis
        self.prefix = prefix
        self.cooldown = cooldown

    def key(self, provider: str) -> str:
        return circuit_key(self.prefix, provider)

    async def open_for(self, provider: str) -> float:
        """Seconds until ``provider``'s circuit closes; 0.0 when it is closed."""
        try:
            ttl_ms = await self.redis.pttl(self.key(provider))
        except RedisError as exc:
            log.warning("circuit_breaker_unavailable", provider=provider, error=str(exc))
            return 0.0
        return ttl_ms / 1000 if ttl_ms > 0 else 0.0

    async def is_open(self, provider: str) -> bool:
        return await self.open_for(provider) > 0

    async def reason(self, provider: str) -> str | None:
        """Why the circuit was opened, while it is open."""
        try:
            value = await self.redis.get(self.key(provider))
        except RedisError:
            return None
        return value.decode() if isinstance(value, bytes) else value

    async def record_failure(
        self, provider: str, reason: str, *, at_least: float | None = None
    ) -> float:
        """Open ``provider``'s circuit for the cool-down (or ``at_least`` seconds if longer);
        returns how long it stays open."""
        seconds = max(self.cooldown, at_least or 0.0)
        try:
            await self.redis.set(self.key(provider), reason[:500], px=max(1, round(seconds * 1000)))
        except RedisError as exc:
            log.warning("circuit_breaker_unavailable", provider=provider, error=str(exc))
        return seconds

    async def record_success(self, provider: str) -> None:
        try:
            await self.redis.delete(self.key(provider))
        except RedisError as exc:
            log.warning("circuit_breaker_unavailable", provider=provider, error=str(exc))


@dataclass(frozen=True)
class GenerationResult:
    """A finished video at ``path``. ``cost`` is in US dollars when the provider reports
    one; ``elapsed`` is the seconds :meth:`ProviderChain.generate` took, failovers included."""

    provider: str
    job_id: str
    cost: float | None
    path: Path
    elapsed: float


class _TurnTimedOut(Exception):
    pass


class ProviderChain:
    """Providers in failover order with retries, polling and a shared circuit breaker."""

    def __init__(
        self,
        providers: Sequence[MotionProvider],
        *,
        breaker: CircuitBreaker,
        policy: ChainPolicy | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not providers:
            raise ValueError("a provider chain needs at least one provider")
        names = [p.name for p in providers]
        if len(set(names)) != len(names):
            raise ValueError(f"provider names must be distinct, got {names}")
        self.providers: tuple[MotionProvider, ...] = tuple(providers)
        self._by_name = {p.name: p for p in providers}
        self.breaker = breaker
        self.policy = policy or ChainPolicy()
        self.clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.providers)

    def provider(self, name: str) -> MotionProvider:
        return self._by_name[name]

    async def generate(
        self,
        request: MotionRequest,
        dest: Path,
        *,
        on_progress: ProgressCallback | None = None,
        on_submitted: SubmittedCallback | None = None,
        resume: JobRef | None = None,
    ) -> GenerationResult:
        """Make the video of ``request`` at ``dest`` with the first provider that can.

        ``on_submitted`` is awaited with each new job's ref as soon as it exists (store it
        to ``resume`` after a crash); ``on_progress`` with the provider's progress (0..1)
        whenever it changes. Raises :class:`ContentRefused` at once on a refusal, otherwise
        only when every provider has failed (see the module docstring).
        """
        started = self.clock.monotonic()
        dest = Path(dest)
        failures: list[str] = []
        transient = False
        circuit_waits: list[float] = []
        finished_turns: set[str] = set()

        async def run_turn(provider: MotionProvider, ref: JobRef | None) -> GenerationResult:
            return await self._turn(
                provider,
                request,
                dest,
                resume=ref,
                started=started,
                on_progress=on_progress,
                on_submitted=on_submitted,
            )

        if resume is not None:
            resumable = self._by_name.get(resume.provider)
            if resumable is None:
                log.warning(
                    "provider_resume_skipped", provider=resume.provider, job_id=resume.job_id
                )
            else:
                try:
                    return await run_turn(resumable, resume)
                except ContentRefused:
                    raise
                except ProviderError as exc:
                    if isinstance(exc, ProviderFailed) and exc.code in _LOST_JOB_CODES:
                        log.info(
                            "provider_resume_lost", provider=resume.provider, job_id=resume.job_id
                        )
                    else:
                        finished_turns.add(resumable.name)
                        failures.append(f"{resumable.name}: {exc}")
                        transient |= isinstance(exc, TransientProviderError)
                        await self._after_failed_turn(resumable, exc)

        for provider in self.providers:
            if provider.name in finished_turns:
                continue
            open_for = await self.breaker.open_for(provider.name)
            if open_for > 0:
                log.info(
                    "provider_skipped", provider=provider.name, circuit_open_for=round(open_for, 1)
                )
                failures.append(
                    f"{provider.name}: skipped, circuit open for another {open_for:.0f} s"
                )
                circuit_waits.append(open_for)
                transient = True
                continue
            try:
                return await run_turn(provider, None)
            except ContentRefused:
                raise
            except ProviderError as exc:
                failures.append(f"{provider.name}: {exc}")
                transient |= isinstance(exc, TransientProviderError)
                await self._after_failed_turn(provider, exc)

        summary = "no motion provider could make this clip — " + "; ".join(failures)
        log.warning("providers_exhausted", failures=failures)
        if transient:
            raise TransientProviderError(
                summary,
                provider=CHAIN,
                code=CODE_ALL_FAILED,
                retry_after=min(circuit_waits) if circuit_waits else None,
            )
        raise ProviderFailed(summary, provider=CHAIN, code=CODE_ALL_FAILED)

    async def cancel(self, ref: JobRef) -> bool:
        """Cancel a job of one of this chain's providers; ``False`` if none of them made it."""
        provider = self._by_name.get(ref.provider)
        if provider is None:
            log.warning("provider_cancel_unroutable", provider=ref.provider, job_id=ref.job_id)
            return False
        await provider.cancel(ref)
        return True

    async def aclose(self) -> None:
        for provider in self.providers:
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> ProviderChain:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _turn(
        self,
        provider: MotionProvider,
        request: MotionRequest,
        dest: Path,
        *,
        resume: JobRef | None,
        started: float,
        on_progress: ProgressCallback | None,
        on_submitted: SubmittedCallback | None,
    ) -> GenerationResult:
        deadline = self.clock.monotonic() + self.policy.timeout
        if resume is None:
            ref = await self._retrying(
                provider, "submit", lambda: provider.submit(request), deadline
            )
            log.info("provider_submitted", provider=provider.name, job_id=ref.job_id)
            if on_submitted is not None:
                await on_submitted(ref)
        else:
            ref = resume
            log.info("provider_resumed", provider=provider.name, job_id=ref.job_id)
        try:
            status = await self._wait_for_output(provider, ref, deadline, on_progress)
        except _TurnTimedOut:
            await self._cancel_quietly(provider, ref)
            raise TransientProviderError(
                f"job {ref.job_id} did not finish within {self.policy.timeout:.0f} s and was cancelled",
                provider=provider.name,
                code=CODE_TIMEOUT,
            ) from None
        except TransientProviderError:
            await self._cancel_quietly(provider, ref)
            raise
        except asyncio.CancelledError:
            # A remote job outlives us and can be resumed; an in-process one would be orphaned.
            if not getattr(provider, "durable", True):
                await self._cancel_quietly(provider, ref)
            raise
        status = await self._download(provider, ref, status, dest, deadline)
        await self.breaker.record_success(provider.name)
        elapsed = self.clock.monotonic() - started
        log.info(
            "provider_succeeded",
            provider=provider.name,
            job_id=ref.job_id,
            cost=status.cost,
            seconds=round(elapsed, 2),
        )
        return GenerationResult(
            provider=provider.name, job_id=ref.job_id, cost=status.cost, path=dest, elapsed=elapsed
        )

    async def _download(
        self, provider: MotionProvider, ref: JobRef, status: JobStatus, dest: Path, deadline: float
    ) -> JobStatus:
        """Download a finished job's output. The job is paid for and never thrown away: when
        its output URL has expired (signed URLs do; Runway's within hours), the job's status
        is fetched again for a fresh URL, up to ``attempts`` times, instead of failing over
        and paying another provider for the same clip."""
        refetches = 0
        while True:
            try:
                await self._retrying(
                    provider, "download", partial(provider.download, ref, status, dest), deadline
                )
                return status
            except ProviderFailed as exc:
                if exc.code != CODE_OUTPUT_GONE or refetches >= self.policy.attempts:
                    raise
            refetches += 1
            log.info(
                "provider_output_refetch", provider=provider.name, job_id=ref.job_id, refetch=refetches
            )
            status = await self._retrying(provider, "status", lambda: provider.status(ref), deadline)
            if status.state is not JobState.SUCCEEDED:
                raise ProviderFailed(
                    f"job {ref.job_id} reads {status.state.value} after it had succeeded",
                    provider=provider.name,
                    code=CODE_OUTPUT_GONE,
                )

    async def _retrying(
        self,
        provider: MotionProvider,
        action: str,
        operation: Callable[[], Awaitable[T]],
        deadline: float,
    ) -> T:
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                result = await operation()
            except Exception as exc:
                PROVIDER_SECONDS.labels(provider.name, action).observe(time.perf_counter() - started)
                PROVIDER_FAILURES.labels(provider.name, type(exc).__name__).inc()
                if not isinstance(exc, TransientProviderError):
                    raise
                wait = self.policy.retry_delay(exc, attempt, self._rng)
                if (
                    attempt >= self.policy.attempts
                    or wait is None
                    or self.clock.monotonic() + wait > deadline
                ):
                    raise
                log.info(
                    "provider_retry",
                    provider=provider.name,
                    action=action,
                    attempt=attempt,
                    wait=round(wait, 2),
                    error=str(exc),
                )
                await self.clock.sleep(wait)
                continue
            PROVIDER_SECONDS.labels(provider.name, action).observe(time.perf_counter() - started)
            return result

    async def _wait_for_output(
        self,
        provider: MotionProvider,
        ref: JobRef,
        deadline: float,
        on_progress: ProgressCallback | None,
    ) -> JobStatus:
        """Poll until the job succeeds; raise if it fails, is cancelled or runs past ``deadline``."""
        delay: float | None = None
        errors_in_row = 0
        reported: float | None = None
        while True:
            try:
                status = await provider.status(ref)
            except TransientProviderError as exc:
                errors_in_row += 1
                wait = self.policy.retry_delay(exc, errors_in_row, self._rng)
                if errors_in_row >= self.policy.attempts or wait is None:
                    raise
                await self._sleep_before(deadline, wait)
                continue
            errors_in_row = 0
            if status.state is JobState.SUCCEEDED:
                return status
            if status.state is JobState.FAILED:
                raise ProviderFailed(
                    f"job {ref.job_id} failed ({status.failure_code}): {status.failure}",
                    provider=provider.name,
                    code=status.failure_code,
                )
            if status.state is JobState.CANCELLED:
                raise ProviderFailed(
                    f"job {ref.job_id} was cancelled", provider=provider.name, code=CODE_CANCELLED
                )
            if (
                on_progress is not None
                and status.progress is not None
                and status.progress != reported
            ):
                reported = status.progress
                await on_progress(status.progress)
            delay = self.policy.next_poll(delay, status)
            await self._sleep_before(deadline, delay)

    async def _sleep_before(self, deadline: float, seconds: float) -> None:
        remaining = deadline - self.clock.monotonic()
        if remaining <= 0:
            raise _TurnTimedOut
        await self.clock.sleep(min(seconds, remaining))

    async def _cancel_quietly(self, provider: MotionProvider, ref: JobRef) -> None:
        """Best effort: the job may already be gone, or the provider unreachable."""
        try:
            await provider.cancel(ref)
        except ProviderError as exc:
            log.warning(
                "provider_cancel_failed", provider=provider.name, job_id=ref.job_id, error=str(exc)
            )
        else:
            log.info("provider_cancelled", provider=provider.name, job_id=ref.job_id)

    async def _after_failed_turn(self, provider: MotionProvider, error: ProviderError) -> None:
        log.warning("provider_failed", provider=provider.name, code=error.code, error=str(error))
        opens = isinstance(error, TransientProviderError) or error.code == CODE_CONFIGURATION
        if not opens:
            return
        at_least = error.retry_after if isinstance(error, TransientProviderError) else None
        seconds = await self.breaker.record_failure(provider.name, str(error), at_least=at_least)
        log.warning("provider_circuit_opened", provider=provider.name, seconds=round(seconds, 1))
