"""Web Push: storing browsers' subscriptions, sending one notice to one of them, and the
notices Echoes sends.

Sending is only ever done by the ``default`` worker queue (``worker/jobs/notifications.py``);
requests and other jobs call :func:`api.jobs.enqueue_push`.
"""

from __future__ import annotations

import enum
import hashlib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPushException, webpush_async
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import models as m
from api.domain.push.schemas import PushNotice, PushSubscriptionCreate
from api.domain.push.vapid import VapidKeys, b64url, b64url_decode
from api.errors import Conflict, InvalidInput, NotFound
from api.net import OutboundPolicy, RefusedAddress, UnsafeURL, check_url

#: Devices (browsers) kept per user; subscribing one more forgets the least recently updated.
MAX_DEVICES_PER_USER = 20
#: How long a push service keeps trying to reach a device that is offline.
PUSH_TTL_SECONDS = 24 * 3600
#: Per request to a push service.
PUSH_TIMEOUT_SECONDS = 10.0
#: Longest Retry-After we wait for; a push service asking for more gets it on a later retry.
MAX_RETRY_AFTER_SECONDS = 3600.0


class PushSubscriptionService:
    """Subscriptions of browsers to a user's notices. Never commits: the caller (the
    controller, or the job step) owns the transaction."""

    def __init__(self, session: AsyncSession, *, outbound: OutboundPolicy) -> None:
        self.session = session
        self.outbound = outbound

    async def subscribe(
        self, user_id: uuid.UUID, data: PushSubscriptionCreate, *, user_agent: str | None
    ) -> m.PushSubscription:
        """Store (or refresh) a browser's subscription for ``user_id``.

        The endpoint identifies the browser: subscribing it again refreshes the row. An
        endpoint already registered to another account is refused (409) and left with its
        owner — otherwise anyone who learnt a subscription's endpoint could take over that
        person's notifications. A browser that changes accounts unsubscribes first (the
        web app does on log-out), which gives it a new endpoint.
        """
        self._check_endpoint(data.endpoint)
        p256dh, auth = _checked_keys(data.keys.p256dh, data.keys.auth)
        expires_at = (
            datetime.fromtimestamp(data.expiration_time / 1000, UTC) if data.expiration_time else None
        )
        now = datetime.now(UTC)
        values = {
            "p256dh": p256dh,
            "auth": auth,
            "expires_at": expires_at,
            "user_agent": (user_agent or "")[:255] or None,
        }
        statement = (
            insert(m.PushSubscription)
            .values(endpoint=data.endpoint, user_id=user_id, **values)
            .on_conflict_do_update(
                index_elements=["endpoint"],
                set_={**values, "updated_at": now},
                where=m.PushSubscription.user_id == user_id,
            )
            .returning(m.PushSubscription)
        )
        subscription = (await self.session.scalars(statement)).one_or_none()
        if subscription is None:
            raise Conflict(
                "This browser already receives notifications for another Echoes account. "
                "Turn notifications off there (or sign out of it), then turn them on here.",
                field="endpoint",
            )
        stale = (
            sa.select(m.PushSubscription.id)
            .where(m.PushSubscription.user_id == user_id)
            .order_by(m.PushSubscription.updated_at.desc())
            .offset(MAX_DEVICES_PER_USER)
        )
        await self.session.execute(sa.delete(m.PushSubscription).where(m.PushSubscription.id.in_(stale)))
        return subscription

    async def unsubscribe(self, user_id: uuid.UUID, endpoint: str) -> None:
        result = await self.session.execute(
            sa.delete(m.PushSubscription).where(
                m.PushSubscription.user_id == user_id, m.PushSubscription.endpoint == endpoint
            )
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound("This browser is not subscribed to your notifications.")

    async def deliverable(self, user_id: uuid.UUID) -> list[m.PushSubscription]:
        """The user's subscriptions that can still receive pushes; expired ones are deleted."""
        now = datetime.now(UTC)
        await self.session.execute(
            sa.delete(m.PushSubscription).where(
                m.PushSubscription.user_id == user_id, m.PushSubscription.expires_at <= now
            )
        )
        rows = await self.session.scalars(
            sa.select(m.PushSubscription)
            .where(m.PushSubscription.user_id == user_id)
            .order_by(m.PushSubscription.created_at)
        )
        return list(rows)

    def _check_endpoint(self, endpoint: str) -> None:
        """Pushes are POSTed by our servers to this URL, so it must be a public https URL
        (see :mod:`api.net`; its host name is resolved and checked again at each send)."""
        try:
            check_url(endpoint, self.outbound)
        except UnsafeURL as exc:
            raise InvalidInput(f"The push subscription's endpoint is refused: {exc}.", field="endpoint") from None


def _checked_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The browser's keys, normalised to unpadded base64url once they are known to work:
    ``p256dh`` a point on P-256, ``auth`` 16 bytes."""
    try:
        point = b64url_decode(p256dh)
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        if len(point) != 65:
            raise ValueError("not an uncompressed point")
    except ValueError:
        raise InvalidInput("The push subscription's p256dh key is not a P-256 public key.", field="keys.p256dh") from None
    try:
        secret = b64url_decode(auth)
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise InvalidInput("The push subscription's auth secret must be 16 bytes.", field="keys.auth")
    return b64url(point), b64url(secret)


# --------------------------------------------------------------------------- sending


class Outcome(enum.StrEnum):
    SENT = "sent"
    GONE = "gone"
    RATE_LIMITED = "rate_limited"
    RETRY = "retry"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Delivery:
    """What the push service said. ``GONE``: delete the subscription. ``RATE_LIMITED``: try
    again after ``retry_after`` seconds. ``RETRY``: a transient failure (5xx, network).
    ``REJECTED``: the request itself was refused (bad VAPID, too large); retrying won't help."""

    outcome: Outcome
    status: int | None
    retry_after: float | None = None
    detail: str = ""


def topic_for(tag: str) -> str:
    """The ``Topic`` header for a tag: at most 32 base64url characters (RFC 8030 §5.4), so
    a push service holding an undelivered notice replaces it with the newer one."""
    return b64url(hashlib.sha256(tag.encode()).digest())[:32]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


async def send_notice(
    subscription: m.PushSubscription,
    notice: PushNotice,
    keys: VapidKeys,
    *,
    http: aiohttp.ClientSession,
    ttl: int = PUSH_TTL_SECONDS,
) -> Delivery:
    """Encrypt ``notice`` for one browser (aes128gcm), sign with VAPID and POST it.

    ``http`` must come from :func:`api.net.guarded_aiohttp_session`: the endpoint is a URL
    a browser gave us, so it is sent only to a public https address.
    """
    subscription_info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        response = await webpush_async(
            subscription_info,  # type: ignore[arg-type]
            data=notice.payload(),  # type: ignore[arg-type]
            vapid_private_key=keys.signer,
            vapid_claims=keys.claims(),
            ttl=ttl,
            timeout=PUSH_TIMEOUT_SECONDS,
            headers={"Urgency": "normal", "Topic": topic_for(notice.tag)},
            aiohttp_session=http,
        )
    except WebPushException as exc:
        status = exc.status_code
        detail = exc.message
        if status in (404, 410):
            return Delivery(Outcome.GONE, status, detail=detail)
        if status == 429:
            return Delivery(Outcome.RATE_LIMITED, status, parse_retry_after(exc.retry_after), detail)
        if status is None or status >= 500 or status == 408:
            return Delivery(Outcome.RETRY, status, parse_retry_after(exc.retry_after), detail)
        return Delivery(Outcome.REJECTED, status, detail=detail)
    except UnsafeURL as exc:
        return Delivery(Outcome.REJECTED, None, detail=f"endpoint refused: {exc}")
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, RefusedAddress):
            return Delivery(Outcome.REJECTED, None, detail=f"endpoint refused: {exc.os_error}")
        return Delivery(Outcome.RETRY, None, detail=f"{type(exc).__name__}: {exc}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Delivery(Outcome.RETRY, None, detail=f"{type(exc).__name__}: {exc}")
    return Delivery(Outcome.SENT, response.status)  # type: ignore[union-attr]


# --------------------------------------------------------------------------- the notices


def clip_ready_notice(*, project_id: uuid.UUID, project_title: str) -> PushNotice:
    return PushNotice(
        title="Your clip is ready",
        body=f"A new clip in “{project_title}” is ready to watch.",
        url=f"/projects/{project_id}",
        tag=f"project-clips:{project_id}",
    )


def clip_failed_notice(*, project_id: uuid.UUID, project_title: str) -> PushNotice:
    return PushNotice(
        title="A clip could not be made",
        body=f"One photo in “{project_title}” could not be animated. Any credit it used was "
        "refunded; you can try again.",
        url=f"/projects/{project_id}",
        tag=f"project-clips:{project_id}",
    )


def video_ready_notice(*, project_id: uuid.UUID, project_title: str) -> PushNotice:
    return PushNotice(
        title="Your video is ready",
        body=f"“{project_title}” is ready to watch, download and share.",
        url=f"/projects/{project_id}",
        tag=f"project-video:{project_id}",
    )


def video_failed_notice(*, project_id: uuid.UUID, project_title: str) -> PushNotice:
    return PushNotice(
        title="Your video could not be made",
        body=f"Something went wrong putting “{project_title}” together. Open the project to try again.",
        url=f"/projects/{project_id}",
        tag=f"project-video:{project_id}",
    )


def credits_added_notice(*, added: int, balance: int) -> PushNotice:
    noun = "credit" if added == 1 else "credits"
    return PushNotice(
        title=f"{added} {noun} added",
        body=f"Your balance is now {balance}.",
        url="/credits",
        tag="credits",
    )
