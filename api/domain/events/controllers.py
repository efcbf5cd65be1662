"""``GET /api/events``: a person's live events as Server-Sent Events.

The route is public so that a visitor on a free try can follow their clip, but it never
serves anyone else's stream: a valid session cookie selects the user's stream, otherwise a
valid signed visitor cookie selects the visitor's, otherwise 401.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

from litestar import Controller, Litestar, Request, get
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import HeaderParameter, QueryParameter
from litestar.response import Stream

from api.config import Settings
from api.domain.accounts.auth import PUBLIC, CurrentUser
from api.domain.visitors.identity import VISITOR_COOKIE, VisitorIdentity
from api.errors import NotAuthenticated
from api.events import EventHub, ServerEvent, is_entry_id, sse_stream, user_owner, visitor_owner

SSE_HEADERS = {
    # no-transform also stops compressing proxies (Next.js's among them) from buffering.
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    "Connection": "keep-alive",
}


def events_lifespan(settings: Settings) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """Runs this process's :class:`EventHub` for as long as the app runs."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        hub = EventHub(settings.redis_url, prefix=settings.queue_prefix)
        await hub.start()
        app.state.event_hub = hub
        try:
            yield
        finally:
            await hub.close()

    return lifespan


def provide_event_hub(state: State) -> EventHub:
    return state.event_hub


class EventController(Controller):
    path = "/api/events"
    tags = ["events"]
    opt = PUBLIC
    dependencies = {"event_hub": Provide(provide_event_hub, sync_to_thread=False)}

    @get(
        "/",
        operation_id="StreamEvents",
        summary="Your live status events (Server-Sent Events)",
        cache=False,
        media_type="text/event-stream",
        responses={
            200: ResponseSpec(
                data_container=ServerEvent,  # type: ignore[arg-type]
                media_type="text/event-stream",
                generate_examples=False,
                description="An endless text/event-stream; each message's `data` is one of these events.",
            ),
        },
    )
    async def stream_events(
        self,
        request: Request[Any, Any, Any],
        settings: NamedDependency[Settings],
        identity: NamedDependency[VisitorIdentity],
        event_hub: NamedDependency[EventHub],
        viewer: NamedDependency[CurrentUser | None],
        last_event_id_header: Annotated[str | None, HeaderParameter(name="Last-Event-ID", required=False)] = None,
        last_event_id_query: Annotated[str | None, QueryParameter(name="lastEventId", required=False)] = None,
    ) -> Stream:
        """Events for the signed-in user, or else for the free-try visitor, as they happen.

        Each message has an ``id`` (resume with ``Last-Event-ID``, or ``?lastEventId=`` where
        the header cannot be set), an ``event`` name (``clip.status``, ``clip.progress``,
        ``render.status``, ``render.progress``, ``credits.changed``, ``stream.reset``) and
        camelCase JSON ``data``. A comment line is sent after every quiet interval
        (``SSE_HEARTBEAT_SECONDS``). ``stream.reset`` means the missed events are no longer
        held: reload the state over the REST API.
        """
        if viewer is not None:
            owner = user_owner(viewer.id)
        else:
            visitor_id = identity.parse(request.cookies.get(VISITOR_COOKIE))
            if visitor_id is None:
                raise NotAuthenticated("Sign in, or start a free try, to follow your clips live.")
            owner = visitor_owner(visitor_id)

        resume_from = last_event_id_header or last_event_id_query
        frames = sse_stream(
            event_hub,
            owner,
            last_event_id=resume_from if resume_from and is_entry_id(resume_from) else None,
            heartbeat=settings.sse_heartbeat_seconds,
        )
        return Stream(
            frames,
            media_type="text/event-stream",
            headers=SSE_HEADERS,
            # Litestar stops iterating when the client disconnects but does not close the
            # generator; closing it here unregisters from the hub at once, not at GC time.
            background=BackgroundTask(frames.aclose),
        )
