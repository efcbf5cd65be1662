"""Web Push on the ``default`` queue: ``send_push`` fans a notice out to a user's devices,
``deliver_push`` sends it to one device.

One job per device keeps retries apart: a phone whose push service is down is retried
without sending the notice again to the laptop that already showed it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import msgspec
import sqlalchemy as sa
import structlog

from api.db import models as m
from api.domain.push.schemas import PushNotice
from api.domain.push.services import (
    PUSH_TIMEOUT_SECONDS,
    Outcome,
    PushSubscriptionService,
    send_notice,
)
from api.domain.push.vapid import VapidKeys
from api.jobs import DELIVER_PUSH_POLICY, enqueue_deliver_push
from api.net import OutboundPolicy, guarded_aiohttp_session
from worker.context import WorkerResources

log = structlog.get_logger()


class PushNotDelivered(Exception):
    """A transient failure: SAQ retries the job after its backoff (or the Retry-After)."""


async def send_push(ctx: dict[str, Any], *, user_id: str, notice: dict[str, Any]) -> dict[str, Any]:
    res: WorkerResources = ctx["resources"]
    parsed = msgspec.convert(notice, PushNotice)
    async with res.session() as session:
        devices = await PushSubscriptionService(
            session, outbound=OutboundPolicy.from_settings(res.settings)
        ).deliverable(uuid.UUID(user_id))
        await session.commit()
    for device in devices:
        await enqueue_deliver_push(res.queues, device.id, parsed, occurrence=ctx["job"].key)
    return {"devices": len(devices)}


async def deliver_push(ctx: dict[str, Any], *, subscription_id: str, notice: dict[str, Any]) -> dict[str, Any]:
    res: WorkerResources = ctx["resources"]
    job = ctx["job"]
    # SAQ computes the next retry's delay from these fields; a 429 below overrides them for
    # one retry, so every attempt starts again from the policy.
    job.retry_delay, job.retry_backoff = DELIVER_PUSH_POLICY.retry_delay, DELIVER_PUSH_POLICY.retry_backoff
    sid = uuid.UUID(subscription_id)
    parsed = msgspec.convert(notice, PushNotice)
    bound = log.bind(subscription_id=subscription_id, tag=parsed.tag, attempt=job.attempts)

    async with res.session() as session:
        subscription = await session.get(m.PushSubscription, sid)
    if subscription is None:
        return {"skipped": "unsubscribed"}

    timeout = aiohttp.ClientTimeout(total=PUSH_TIMEOUT_SECONDS)
    async with guarded_aiohttp_session(OutboundPolicy.from_settings(res.settings), timeout=timeout) as http:
        delivery = await send_notice(subscription, parsed, VapidKeys.from_settings(res.settings), http=http)

    if delivery.outcome is Outcome.SENT:
        await _update(res, sid, last_sent_at=datetime.now(UTC))
        bound.info("push_sent", status=delivery.status, user_id=str(subscription.user_id))
        return {"status": delivery.status}
    if delivery.outcome is Outcome.GONE:
        await _delete(res, sid)
        bound.info("push_subscription_gone", status=delivery.status, user_id=str(subscription.user_id))
        return {"status": delivery.status, "deleted": True}
    if delivery.outcome is Outcome.REJECTED:
        bound.error("push_rejected", status=delivery.status, detail=delivery.detail[:300])
        return {"status": delivery.status, "rejected": True}
    if delivery.retry_after is not None:
        job.retry_delay, job.retry_backoff = delivery.retry_after, False
    bound.warning(
        "push_not_delivered", status=delivery.status, retry_after=delivery.retry_after, detail=delivery.detail[:300]
    )
    raise PushNotDelivered(f"push service answered {delivery.status or delivery.detail}")


async def _update(res: WorkerResources, subscription_id: uuid.UUID, **values: Any) -> None:
    async with res.session() as session:
        await session.execute(
            sa.update(m.PushSubscription).where(m.PushSubscription.id == subscription_id).values(**values)
        )
        await session.commit()


async def _delete(res: WorkerResources, subscription_id: uuid.UUID) -> None:
    async with res.session() as session:
        await session.execute(sa.delete(m.PushSubscription).where(m.PushSubscription.id == subscription_id))
        await session.commit()
