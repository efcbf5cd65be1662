"""``GET /api/events`` over a real socket: who sees what, resuming, heartbeats, clean-up."""

from __future__ import annotations

import asyncio
import random
import uuid
from contextlib import aclosing

from redis.asyncio import Redis

from api.db import models as m
from api.domain.accounts.sessions import SessionTokens
from api.events import (
    STREAM_MAXLEN,
    ClipProgressEvent,
    ClipStatusEvent,
    CreditsChangedEvent,
    publish,
    stream_key,
    user_owner,
    visitor_owner,
)
from api.security.keys import Keys
from tests.integration.conftest import wait_until
from tests.integration.events.conftest import HEARTBEAT_SECONDS, ApiServer, signed_up
from tests.integration.events.sse_client import EventStream, open_events


def progress(n: int, clip_id: uuid.UUID | None = None) -> ClipProgressEvent:
    return ClipProgressEvent(clip_id=clip_id or uuid.uuid4(), project_id=None, progress=n / 1000)


async def ready(stream: EventStream) -> str:
    """Read the opening messages (``retry:`` and the id-only one); the stream's start id."""
    assert (await stream.next()).retry == 3000
    opening = await stream.next()
    assert opening.id is not None and not opening.is_event
    return opening.id


async def test_two_users_connected_at_once_each_see_only_their_own_events(
    api_server: ApiServer, redis: Redis
) -> None:
    prefix = api_server.settings.queue_prefix
    alice, alice_id = await signed_up(api_server)
    bob, bob_id = await signed_up(api_server)
    visitor, visitor_id = api_server.visitor_client()
    clip = uuid.uuid4()
    async with aclosing(alice), aclosing(bob), aclosing(visitor):
        async with (
            open_events(alice) as alice_stream,
            open_events(bob) as bob_stream,
            open_events(visitor) as visitor_stream,
        ):
            for stream in (alice_stream, bob_stream, visitor_stream):
                await ready(stream)
            await publish(redis, user_owner(alice_id), CreditsChangedEvent(balance=6, delta=5, kind=m.CreditKind.PURCHASE), prefix=prefix)
            await publish(redis, user_owner(bob_id), progress(100, clip), prefix=prefix)
            await publish(redis, visitor_owner(visitor_id), ClipStatusEvent(
                clip_id=clip, project_id=None, status=m.ClipStatus.SUCCEEDED, progress=1.0), prefix=prefix)
            await publish(redis, user_owner(alice_id), progress(200, clip), prefix=prefix)
            await publish(redis, user_owner(bob_id), progress(300, clip), prefix=prefix)
            await publish(redis, visitor_owner(visitor_id), progress(400, clip), prefix=prefix)

            first, second = await alice_stream.next_event(), await alice_stream.next_event()
            assert (first.event, first.json()) == (
                "credits.changed", {"type": "credits.changed", "balance": 6, "delta": 5, "kind": "purchase"},
            )
            assert (second.event, second.json()["progress"]) == ("clip.progress", 0.2)
            assert [(await bob_stream.next_event()).json()["progress"] for _ in range(2)] == [0.1, 0.3]
            done = await visitor_stream.next_event()
            assert done.event == "clip.status" and done.json() == {
                "type": "clip.status", "clipId": str(clip), "projectId": None,
                "status": "succeeded", "progress": 1.0, "error": None,
            }
            assert (await visitor_stream.next_event()).json()["progress"] == 0.4


async def test_events_need_a_session_or_a_signed_visitor_cookie(api_server: ApiServer) -> None:
    async with api_server.client() as anonymous:
        response = await anonymous.get("/api/events")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "NOT_AUTHENTICATED"
    forged_visitor = {"echoes_visitor": f"{uuid.uuid4().hex}.AAAAAAAAAAAAAAAAAAAAAA"}
    async with api_server.client(cookies=forged_visitor) as forged:
        assert (await forged.get("/api/events")).status_code == 401

    tokens = SessionTokens(Keys.derive(api_server.settings.secret_key), api_server.settings)
    no_such_session = tokens.access_token(uuid.uuid4(), uuid.uuid4())
    other_keys = SessionTokens(Keys.derive("another-secret-" + "y" * 32), api_server.settings)
    wrong_key = other_keys.access_token(uuid.uuid4(), uuid.uuid4())
    for token in (no_such_session, wrong_key):
        async with api_server.client(cookies={"echoes_session": token}) as client:
            assert (await client.get("/api/events")).status_code == 401


async def test_a_signed_in_visitor_gets_the_user_stream_not_the_visitor_stream(
    api_server: ApiServer, redis: Redis
) -> None:
    prefix = api_server.settings.queue_prefix
    user, user_id = await signed_up(api_server)
    visitor_id = uuid.uuid4()
    async with aclosing(user):
        user.cookies.set("echoes_visitor", api_server.visitor_cookie(visitor_id))
        async with open_events(user) as stream:
            await ready(stream)
            await publish(redis, visitor_owner(visitor_id), progress(1), prefix=prefix)
            await publish(redis, user_owner(user_id), progress(2), prefix=prefix)
            assert (await stream.next_event()).json()["progress"] == 0.002


async def test_the_stream_is_unbuffered_with_sse_headers_and_a_heartbeat(api_server: ApiServer) -> None:
    client, _ = api_server.visitor_client()
    async with aclosing(client), open_events(client) as stream:
        headers = stream.response.headers
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["cache-control"] == "no-cache, no-transform"
        assert headers["x-accel-buffering"] == "no"
        assert "content-length" not in headers
        await ready(stream)
        loop = asyncio.get_running_loop()
        started = loop.time()
        beats = [await stream.next() for _ in range(2)]
        assert [b.comment for b in beats] == ["keep-alive", "keep-alive"]
        assert loop.time() - started >= HEARTBEAT_SECONDS * 2 * 0.9


async def test_reconnecting_with_last_event_id_gets_exactly_the_missed_events(
    api_server: ApiServer, redis: Redis
) -> None:
    prefix = api_server.settings.queue_prefix
    client, visitor_id = api_server.visitor_client()
    owner = visitor_owner(visitor_id)
    async with aclosing(client):
        async with open_events(client) as stream:
            await ready(stream)
            for n in (1, 2):
                await publish(redis, owner, progress(n), prefix=prefix)
            seen = [await stream.next_event() for _ in range(2)]
        assert [s.json()["progress"] for s in seen] == [0.001, 0.002]
        last_id = seen[-1].id
        assert last_id is not None
        for n in (3, 4, 5):
            await publish(redis, owner, progress(n), prefix=prefix)

        async with open_events(client, last_event_id=last_id) as resumed:
            assert (await resumed.next()).retry == 3000
            replayed = [await resumed.next_event() for _ in range(3)]
            await publish(redis, owner, progress(6), prefix=prefix)
            live = await resumed.next_event()
        assert [r.json()["progress"] for r in [*replayed, live]] == [0.003, 0.004, 0.005, 0.006]
        ids = [r.id for r in [*seen, *replayed, live]]
        assert len(set(ids)) == 6

        async with open_events(client, query_last_event_id=last_id) as polyfill:
            assert [(await polyfill.next_event()).json()["progress"] for _ in range(4)] == [
                0.003, 0.004, 0.005, 0.006,
            ]


async def test_a_client_that_keeps_reconnecting_while_events_flow_misses_none_and_sees_none_twice(
    api_server: ApiServer, redis: Redis
) -> None:
    prefix = api_server.settings.queue_prefix
    client, visitor_id = api_server.visitor_client()
    owner = visitor_owner(visitor_id)
    total = 150
    clip = uuid.uuid4()

    async def publisher() -> None:
        for n in range(total):
            await publish(redis, owner, progress(n, clip), prefix=prefix)
            if n % 10 == 0:
                await asyncio.sleep(0.005)

    rng = random.Random(7)
    received: list[int] = []
    last_id: str | None = None
    reconnects = 0
    async with aclosing(client):
        async with open_events(client) as stream:
            last_id = await ready(stream)
        producing = asyncio.create_task(publisher())
        while len(received) < total:
            async with open_events(client, last_event_id=last_id) as stream:
                reconnects += 1
                for _ in range(rng.randint(5, 40)):
                    if len(received) == total:
                        break
                    message = await stream.next_event()
                    received.append(round(message.json()["progress"] * 1000))
                    last_id = message.id
        await producing
    assert received == list(range(total))
    assert reconnects >= 4


async def test_a_client_away_longer_than_the_stream_keeps_is_told_to_reload(
    api_server: ApiServer, redis: Redis
) -> None:
    prefix = api_server.settings.queue_prefix
    client, visitor_id = api_server.visitor_client()
    owner = visitor_owner(visitor_id)
    first = await publish(redis, owner, progress(0), prefix=prefix)
    assert first is not None
    for n in range(1, STREAM_MAXLEN + 250):
        await publish(redis, owner, progress(n), prefix=prefix)
    key = stream_key(owner, prefix=prefix)
    assert await redis.xrange(key, min=first, max=first) == [], "the first entry has been trimmed"
    newest = (await redis.xrevrange(key, count=1))[0][0].decode()
    async with aclosing(client), open_events(client, last_event_id=first) as stream:
        await stream.next()
        reset = await stream.next_event()
        assert (reset.event, reset.json(), reset.id) == ("stream.reset", {"type": "stream.reset"}, newest)
        await publish(redis, owner, progress(999), prefix=prefix)
        assert (await stream.next_event()).json()["progress"] == 0.999


async def test_disconnected_clients_leave_no_listener_task_or_redis_connection_behind(
    api_server: ApiServer, redis: Redis
) -> None:
    hub = api_server.hub

    async def hub_connections() -> int:
        return sum(1 for c in await redis.client_list() if c.get("name") == hub.client_name)

    tasks_before = len(asyncio.all_tasks())
    count = 40
    visitors = [api_server.visitor_client() for _ in range(count)]
    streams = []
    for client, _ in visitors:
        opened = open_events(client)
        streams.append((opened, await opened.__aenter__()))
    for _, stream in streams:
        await ready(stream)
    assert hub.listener_count() == count
    connections_open = await hub_connections()
    assert 1 <= connections_open <= 1 + hub.pool_size < count, "streams share the hub, not a connection each"

    for opened, _ in streams:
        await opened.__aexit__(None, None, None)
    for client, _ in visitors:
        await client.aclose()

    await wait_until(lambda: _settled(hub.listener_count()), timeout=10, interval=0.02)
    await wait_until(lambda: _settled(len(asyncio.all_tasks()) - tasks_before), timeout=10, interval=0.02)
    assert await hub_connections() <= connections_open


async def _settled(*counts: int) -> bool:
    return all(c == 0 for c in counts)


async def test_an_unusable_last_event_id_starts_a_live_stream(api_server: ApiServer, redis: Redis) -> None:
    prefix = api_server.settings.queue_prefix
    client, visitor_id = api_server.visitor_client()
    await publish(redis, visitor_owner(visitor_id), progress(1), prefix=prefix)
    async with aclosing(client):
        async with open_events(client, last_event_id="not-an-id") as stream:
            await ready(stream)
            await publish(redis, visitor_owner(visitor_id), progress(2), prefix=prefix)
            assert (await stream.next_event()).json()["progress"] == 0.002
        async with open_events(client, query_last_event_id="12-x") as stream:
            await ready(stream)
            await publish(redis, visitor_owner(visitor_id), progress(3), prefix=prefix)
            assert (await stream.next_event()).json()["progress"] == 0.003


async def test_events_keep_arriving_after_the_feed_connection_is_killed(api_server: ApiServer, redis: Redis) -> None:
    """Redis restarts and network blips: the stream either carries on or ends, and the
    browser's reconnect with ``Last-Event-ID`` picks up what was published meanwhile."""
    prefix = api_server.settings.queue_prefix
    hub = api_server.hub
    client, visitor_id = api_server.visitor_client()
    owner = visitor_owner(visitor_id)
    received: list[float] = []
    async with aclosing(client):
        async with open_events(client) as stream:
            last_id = await ready(stream)
            readers = [c for c in await redis.client_list() if c.get("name") == hub.client_name and c.get("cmd") == "xread"]
            assert len(readers) == 1
            await redis.client_kill_filter(_id=readers[0]["id"])
            await publish(redis, owner, progress(1), prefix=prefix)
            try:
                message = await stream.next_event()
                received.append(message.json()["progress"])
                last_id = message.id or last_id
            except EOFError:
                pass
        await publish(redis, owner, progress(2), prefix=prefix)
        async with open_events(client, last_event_id=last_id) as resumed:
            await resumed.next()
            while len(received) < 2:
                received.append((await resumed.next_event()).json()["progress"])
    assert received == [0.001, 0.002]
