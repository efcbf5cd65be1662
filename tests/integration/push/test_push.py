"""Web Push end to end: subscriptions over the API, sending through the ``default`` worker
to a local push service that verifies VAPID and decrypts every push."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from litestar.testing import AsyncTestClient
from saq import Status
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from api.config import Settings
from api.db import models as m
from api.domain.push.schemas import (
    MAX_ENCRYPTED_BYTES,
    PushKeys,
    PushNotice,
    PushSubscriptionCreate,
)
from api.domain.push.services import (
    Outcome,
    PushSubscriptionService,
    clip_failed_notice,
    clip_ready_notice,
    credits_added_notice,
    send_notice,
    topic_for,
    video_failed_notice,
    video_ready_notice,
)
from api.domain.push.vapid import VapidKeys, b64url, b64url_decode
from api.errors import InvalidInput
from api.jobs import QueueName, Queues, enqueue_push
from api.net import OutboundPolicy, guarded_aiohttp_session
from tests.fakes.push_service import PushServiceFake
from tests.integration.conftest import wait_until
from tests.integration.helpers import PASSWORD, sign_up, sql, with_csrf
from tests.integration.push.conftest import application_server_key, signed_up_user, subscribe
from worker.context import WorkerResources

NOTICE = PushNotice(
    title="Your clip is ready",
    body="A new clip in “Summer 1987” is ready to watch.",
    url="/projects/0191e3c4-0000-7000-8000-000000000000",
    tag="project-clips:0191e3c4-0000-7000-8000-000000000000",
)


async def subscription_rows(settings: Settings, user_id: uuid.UUID) -> list[Any]:
    return await sql(
        settings.database_url,
        "SELECT id, endpoint, p256dh, auth, last_sent_at FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at",
        user_id,
    )


async def job_done(worker: WorkerResources, key: str) -> Any:
    job = await worker.queues[QueueName.DEFAULT].job(key)
    return job if job is not None and job.status in (Status.COMPLETE, Status.FAILED) else None


# --------------------------------------------------------------------------- the key


async def test_the_push_key_is_the_public_half_of_the_configured_vapid_key(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    response = await client.get("/api/push/key")
    assert response.status_code == 200
    key = response.json()["publicKey"]
    private = serialization.load_pem_private_key(settings.vapid_private_key.encode(), password=None)
    expected = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert len(key) == 87 and b64url_decode(key) == expected and expected[0] == 4


# --------------------------------------------------------------------------- subscriptions


async def test_subscribing_needs_a_signed_in_user(client: AsyncTestClient[Any], push_service: PushServiceFake) -> None:
    browser = push_service.browser(await application_server_key(client))
    await with_csrf(client)
    response = await client.post("/api/push/subscriptions", json=browser.subscription_json())
    assert response.status_code == 401 and response.json()["code"] in ("NOT_AUTHENTICATED", "UNAUTHORIZED")


async def test_a_user_keeps_one_subscription_per_device_and_removes_only_their_own(
    client: AsyncTestClient[Any], settings: Settings, push_service: PushServiceFake
) -> None:
    key = await application_server_key(client)
    user_id = await signed_up_user(client)
    phone, laptop = push_service.browser(key), push_service.browser(key)
    first = await subscribe(client, phone)
    await subscribe(client, laptop, expiration_time=(time.time() + 86400) * 1000)
    assert first["endpoint"] == phone.endpoint and first["expiresAt"] is None
    rows = await subscription_rows(settings, user_id)
    assert [r["endpoint"] for r in rows] == [phone.endpoint, laptop.endpoint]

    phone.auth_secret = b"\x01" * 16
    again = await subscribe(client, phone)
    assert again["id"] == first["id"]
    rows = await subscription_rows(settings, user_id)
    assert len(rows) == 2 and rows[0]["auth"] == b64url(b"\x01" * 16)

    owner_email = (await client.get("/api/me")).json()["email"]
    await client.post("/api/auth/logout")
    await sign_up(client)
    stranger = await client.request("DELETE", "/api/push/subscriptions", json={"endpoint": phone.endpoint})
    assert stranger.status_code == 404 and stranger.json()["code"] == "NOT_FOUND"
    assert len(await subscription_rows(settings, user_id)) == 2
    await client.post("/api/auth/logout")
    login = await client.post("/api/auth/login", json={"email": owner_email, "password": PASSWORD})
    assert login.status_code == 200, login.text

    removed = await client.request("DELETE", "/api/push/subscriptions", json={"endpoint": phone.endpoint})
    assert removed.status_code == 204
    assert [r["endpoint"] for r in await subscription_rows(settings, user_id)] == [laptop.endpoint]
    twice = await client.request("DELETE", "/api/push/subscriptions", json={"endpoint": phone.endpoint})
    assert twice.status_code == 404


async def test_an_endpoint_registered_to_another_account_is_not_moved_to_yours(
    client: AsyncTestClient[Any], settings: Settings, push_service: PushServiceFake
) -> None:
    browser = push_service.browser(await application_server_key(client))
    first_user = await signed_up_user(client)
    await subscribe(client, browser)
    await client.post("/api/auth/logout")
    second_user = await signed_up_user(client)
    taken = await client.post("/api/push/subscriptions", json=browser.subscription_json())
    assert taken.status_code == 409, taken.text
    assert taken.json()["code"] == "CONFLICT" and "another Echoes account" in taken.json()["detail"]
    assert [r["endpoint"] for r in await subscription_rows(settings, first_user)] == [browser.endpoint]
    assert await subscription_rows(settings, second_user) == []


async def test_a_browser_unsubscribed_by_one_account_can_subscribe_for_the_next(
    client: AsyncTestClient[Any], settings: Settings, push_service: PushServiceFake
) -> None:
    browser = push_service.browser(await application_server_key(client))
    first_user = await signed_up_user(client)
    await subscribe(client, browser)
    removed = await client.request("DELETE", "/api/push/subscriptions", json={"endpoint": browser.endpoint})
    assert removed.status_code == 204
    await client.post("/api/auth/logout")
    second_user = await signed_up_user(client)
    await subscribe(client, browser)
    assert await subscription_rows(settings, first_user) == []
    assert [r["endpoint"] for r in await subscription_rows(settings, second_user)] == [browser.endpoint]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["keys"].update(p256dh=b64url(b"\x04" + b"\x07" * 64)), "keys.p256dh"),
        (lambda s: s["keys"].update(auth=b64url(b"\x01" * 15) + "AAAA"), "keys.auth"),
        (lambda s: s.update(endpoint="ftp://push.example.com/abc"), "endpoint"),
    ],
    ids=["p256dh-not-on-the-curve", "auth-not-16-bytes", "endpoint-not-http"],
)
async def test_a_subscription_with_unusable_keys_or_endpoint_is_refused(
    client: AsyncTestClient[Any], push_service: PushServiceFake, change: Any, field: str
) -> None:
    browser = push_service.browser(await application_server_key(client))
    await signed_up_user(client)
    body = browser.subscription_json()
    change(body)
    response = await client.post("/api/push/subscriptions", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "INVALID_INPUT" and response.json()["field"] == field
    missing = await client.post("/api/push/subscriptions", json={"endpoint": browser.endpoint})
    assert missing.status_code == 400


async def test_without_the_loopback_setting_only_public_https_endpoints_are_accepted(
    settings: Settings, push_service: PushServiceFake, client: AsyncTestClient[Any]
) -> None:
    """Our servers POST to the endpoint: it must not be a way into our own network."""
    user_id = await signed_up_user(client)
    keys = push_service.browser(await application_server_key(client)).subscription_json()["keys"]
    engine = create_async_engine(settings.database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            service = PushSubscriptionService(session, outbound=OutboundPolicy())
            for endpoint in (
                "http://push.example.com/send/abc",
                "https://127.0.0.1:8443/push/abc",
                "https://[::1]/push/abc",
                "https://[::ffff:127.0.0.1]/push/abc",
                "https://10.1.2.3/push/abc",
                "https://169.254.169.254/latest/meta-data",
                "https://user:pw@push.example.com/abc",
                push_service.browser(await application_server_key(client)).endpoint,
            ):
                with pytest.raises(InvalidInput):
                    await service.subscribe(
                        user_id, PushSubscriptionCreate(endpoint=endpoint, keys=_keys(keys)), user_agent=None
                    )
            stored = await service.subscribe(
                user_id,
                PushSubscriptionCreate(endpoint="https://fcm.googleapis.com/fcm/send/abc:def", keys=_keys(keys)),
                user_agent="Mozilla/5.0",
            )
            assert stored.user_agent == "Mozilla/5.0"
    finally:
        await engine.dispose()


def _keys(keys: dict[str, str]) -> PushKeys:
    return PushKeys(p256dh=keys["p256dh"], auth=keys["auth"])


# --------------------------------------------------------------------------- sending


async def test_a_notice_reaches_every_device_encrypted_and_signed_for_its_push_service(
    client: AsyncTestClient[Any], worker: WorkerResources, settings: Settings, push_service: PushServiceFake
) -> None:
    key = await application_server_key(client)
    user_id = await signed_up_user(client)
    phone, laptop = push_service.browser(key), push_service.browser(key)
    await subscribe(client, phone)
    await subscribe(client, laptop)

    assert await enqueue_push(worker.queues, user_id, NOTICE, key="clip-ready")
    await wait_until(lambda: _all_have_pushes(push_service, phone, laptop), timeout=30)

    for browser in (phone, laptop):
        (push,) = push_service.pushes_to(browser)
        assert push.payload == {"title": NOTICE.title, "body": NOTICE.body, "url": NOTICE.url, "tag": NOTICE.tag}
        assert push.claims["aud"] == push_service.origin and push.claims["sub"] == settings.vapid_subject
        assert push.headers["ttl"] == "86400" and push.headers["urgency"] == "normal"
        assert push.headers["topic"] == topic_for(NOTICE.tag)
        assert push.encrypted_size <= MAX_ENCRYPTED_BYTES
    assert push_service.refused() == []
    rows = await wait_until(lambda: _all_sent(settings, user_id), timeout=10)
    assert len(rows) == 2


async def _all_have_pushes(fake: PushServiceFake, *browsers: Any) -> bool:
    return all(fake.pushes_to(b) for b in browsers)


async def _all_sent(settings: Settings, user_id: uuid.UUID) -> list[Any] | None:
    rows = await subscription_rows(settings, user_id)
    return rows if rows and all(r["last_sent_at"] is not None for r in rows) else None


async def test_a_subscription_the_push_service_calls_gone_is_deleted_and_not_retried(
    client: AsyncTestClient[Any], worker: WorkerResources, settings: Settings, push_service: PushServiceFake
) -> None:
    key = await application_server_key(client)
    user_id = await signed_up_user(client)
    old_phone, laptop = push_service.browser(key), push_service.browser(key)
    await subscribe(client, old_phone)
    await subscribe(client, laptop)
    gone_id = (await subscription_rows(settings, user_id))[0]["id"]
    push_service.unsubscribe(old_phone)

    await enqueue_push(worker.queues, user_id, NOTICE, key="gone")
    deliver = await wait_until(
        lambda: job_done(worker, f"push-deliver:{gone_id}:push:{user_id}:gone"), timeout=30
    )
    assert deliver.status == Status.COMPLETE and deliver.result == {"status": 410, "deleted": True}
    assert [r.status for r in push_service.requests_to(old_phone)] == [410]
    await wait_until(lambda: _all_have_pushes(push_service, laptop), timeout=30)
    assert [r["endpoint"] for r in await subscription_rows(settings, user_id)] == [laptop.endpoint]


async def test_a_rate_limited_push_waits_for_retry_after_and_arrives_once(
    client: AsyncTestClient[Any], worker: WorkerResources, push_service: PushServiceFake
) -> None:
    browser = push_service.browser(await application_server_key(client))
    user_id = await signed_up_user(client)
    await subscribe(client, browser)
    push_service.answer_next(browser, 429, {"Retry-After": "2"})

    await enqueue_push(worker.queues, user_id, NOTICE)
    await wait_until(lambda: _all_have_pushes(push_service, browser), timeout=30)
    limited, accepted = push_service.requests_to(browser)
    assert (limited.status, accepted.status) == (429, 201)
    assert accepted.received_at - limited.received_at >= 1.9
    assert len(push_service.pushes_to(browser)) == 1


async def test_a_failing_push_service_is_retried_and_the_notice_still_arrives(
    client: AsyncTestClient[Any], worker: WorkerResources, push_service: PushServiceFake
) -> None:
    browser = push_service.browser(await application_server_key(client))
    user_id = await signed_up_user(client)
    await subscribe(client, browser)
    push_service.answer_next(browser, 503)

    await enqueue_push(worker.queues, user_id, NOTICE)
    await wait_until(lambda: _all_have_pushes(push_service, browser), timeout=30)
    assert [r.status for r in push_service.requests_to(browser)] == [503, 201]


async def test_a_push_refused_as_malformed_is_not_retried(
    client: AsyncTestClient[Any], worker: WorkerResources, settings: Settings, push_service: PushServiceFake
) -> None:
    """A subscription made with another server's key: the push service answers 403 and
    sending it again cannot help."""
    foreign_key = b64url(b"\x04" + bytes(64))
    browser = push_service.browser(foreign_key)
    user_id = await signed_up_user(client)
    await subscribe(client, browser)
    (row,) = await subscription_rows(settings, user_id)

    await enqueue_push(worker.queues, user_id, NOTICE, key="refused")
    job = await wait_until(lambda: job_done(worker, f"push-deliver:{row['id']}:push:{user_id}:refused"), timeout=30)
    assert job.status == Status.COMPLETE and job.result == {"status": 403, "rejected": True}
    assert [r.status for r in push_service.requests_to(browser)] == [403]


async def test_a_long_notice_is_shortened_to_fit_one_push(
    client: AsyncTestClient[Any], worker: WorkerResources, push_service: PushServiceFake
) -> None:
    browser = push_service.browser(await application_server_key(client))
    user_id = await signed_up_user(client)
    await subscribe(client, browser)
    long = PushNotice(title="Lots to say", body="Grandma's garden, 1987. " * 400, url="/credits", tag="long")

    await enqueue_push(worker.queues, user_id, long)
    await wait_until(lambda: _all_have_pushes(push_service, browser), timeout=30)
    (push,) = push_service.pushes_to(browser)
    assert push.encrypted_size <= MAX_ENCRYPTED_BYTES
    assert push.payload["body"].endswith("…") and long.body.startswith(push.payload["body"][:-1])
    assert len(push.payload["body"]) > 3000


async def test_an_expired_subscription_is_deleted_instead_of_sent_to(
    client: AsyncTestClient[Any], worker: WorkerResources, settings: Settings, push_service: PushServiceFake
) -> None:
    browser = push_service.browser(await application_server_key(client))
    user_id = await signed_up_user(client)
    await subscribe(client, browser, expiration_time=(time.time() - 60) * 1000)

    await enqueue_push(worker.queues, user_id, NOTICE, key="expired")
    job = await wait_until(lambda: job_done(worker, f"push:{user_id}:expired"), timeout=30)
    assert job.result == {"devices": 0}
    assert await subscription_rows(settings, user_id) == []
    assert push_service.requests_to(browser) == []


async def test_queueing_a_notice_never_raises_when_redis_is_unreachable() -> None:
    unreachable = Queues("redis://127.0.0.1:9/0", prefix="nowhere-")
    assert await enqueue_push(unreachable, uuid.uuid4(), NOTICE) is False


def test_notices_of_one_project_replace_each_other_and_open_its_page() -> None:
    project = uuid.uuid4()
    ready = clip_ready_notice(project_id=project, project_title="Summer 1987")
    failed = clip_failed_notice(project_id=project, project_title="Summer 1987")
    assert ready.tag == failed.tag and ready.url == failed.url == f"/projects/{project}"
    video = video_ready_notice(project_id=project, project_title="Summer 1987")
    assert video.tag == video_failed_notice(project_id=project, project_title="x").tag != ready.tag
    assert credits_added_notice(added=1, balance=6).title == "1 credit added"
    assert credits_added_notice(added=5, balance=10).body == "Your balance is now 10."


@pytest.mark.parametrize(
    "endpoint_of",
    [
        lambda origin: origin,
        lambda origin: origin.replace("http://127.0.0.1", "https://localhost"),
    ],
    ids=["plain-http-loopback", "a-name-resolving-to-loopback"],
)
async def test_a_push_to_a_non_public_endpoint_is_refused_before_connecting(
    client: AsyncTestClient[Any], settings: Settings, push_service: PushServiceFake, endpoint_of: Any
) -> None:
    """The guard at send time: the endpoint's host is resolved, and an address that is not
    public is never connected to (the local push service sees no request)."""
    browser = push_service.browser(await application_server_key(client))
    endpoint = browser.endpoint.replace(push_service.origin, endpoint_of(push_service.origin))
    subscription = m.PushSubscription(endpoint=endpoint, p256dh=browser.p256dh, auth=b64url(browser.auth_secret))
    strict = OutboundPolicy()
    async with guarded_aiohttp_session(strict, timeout=aiohttp.ClientTimeout(total=5)) as http:
        delivery = await send_notice(subscription, NOTICE, VapidKeys.from_settings(settings), http=http)
    assert delivery.outcome is Outcome.REJECTED, delivery
    assert "endpoint refused" in delivery.detail
    assert push_service.requests == []
