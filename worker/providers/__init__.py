"""Motion providers and the chain that fails over between them (DESIGN §4).

The clip job needs one thing from here: ``build_chain(settings, redis)``, then
``await chain.generate(request, dest, ...)`` per clip and ``await chain.aclose()`` when the
worker stops. See :mod:`worker.providers.chain` for retries, polling, failover and the
circuit breaker, and :mod:`worker.providers.base` for the interface each provider speaks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.net import OutboundPolicy
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
from worker.providers.chain import (
    ChainPolicy,
    CircuitBreaker,
    Clock,
    GenerationResult,
    ProviderChain,
    SystemClock,
)
from worker.providers.local import LocalMotionProvider
from worker.providers.runpod import RunpodProvider
from worker.providers.runway import RunwayProvider

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from api.config import Settings

__all__ = [
    "ChainPolicy",
    "CircuitBreaker",
    "Clock",
    "ContentRefused",
    "GenerationResult",
    "JobRef",
    "JobState",
    "JobStatus",
    "LocalMotionProvider",
    "MotionProvider",
    "MotionRequest",
    "ProviderChain",
    "ProviderError",
    "ProviderFailed",
    "RunpodProvider",
    "RunwayProvider",
    "SystemClock",
    "TransientProviderError",
    "build_chain",
    "build_provider",
]


def build_provider(name: str, settings: Settings) -> MotionProvider:
    """The provider called ``name`` ("runway", "runpod" or "local"), configured from ``settings``."""
    match name:
        case "runway":
            return RunwayProvider(
                api_key=settings.runway_api_key,
                base_url=settings.runway_api_base,
                model=settings.runway_model,
                outbound=OutboundPolicy.from_settings(settings),
            )
        case "runpod":
            return RunpodProvider(
                api_key=settings.runpod_api_key,
                endpoint_id=settings.runpod_endpoint_id,
                base_url=settings.runpod_api_base,
                timeout_seconds=settings.provider_timeout_seconds,
                outbound=OutboundPolicy.from_settings(settings),
            )
        case "local":
            return LocalMotionProvider(scratch_dir=settings.var_dir / "tmp")
    raise ValueError(f"unknown motion provider {name!r}")


def build_chain(settings: Settings, redis: Redis, *, clock: Clock | None = None) -> ProviderChain:
    """The providers of ``settings.motion_providers``, in that order, behind one chain whose
    circuit breaker lives in ``redis`` under ``settings.queue_prefix``."""
    providers = [build_provider(name, settings) for name in settings.motion_providers]
    breaker = CircuitBreaker(
        redis, prefix=settings.queue_prefix, cooldown=float(settings.provider_cooldown_seconds)
    )
    return ProviderChain(
        providers, breaker=breaker, policy=ChainPolicy.from_settings(settings), clock=clock
    )
