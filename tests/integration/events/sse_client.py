"""A small Server-Sent Events reader over an httpx streaming response, parsing the
``text/event-stream`` format the way a browser's EventSource does (blank line dispatches,
``:`` starts a comment, repeated ``data:`` lines join with newlines)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseMessage:
    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: int | None = None
    comment: str | None = None

    @property
    def is_event(self) -> bool:
        """An event a browser would dispatch (it has data)."""
        return self.data is not None

    def json(self) -> Any:
        assert self.data is not None
        return json.loads(self.data)


class EventStream:
    """Reads messages from ``response``; each read fails after ``timeout`` seconds."""

    def __init__(self, response: httpx.Response, *, timeout: float = 5.0) -> None:
        self.response = response
        self.timeout = timeout
        self._lines = response.aiter_lines()

    async def next(self) -> SseMessage:
        """The next message or comment, whatever it is."""
        async with asyncio.timeout(self.timeout):
            fields: dict[str, Any] = {}
            data: list[str] = []
            async for line in self._lines:
                if line == "":
                    if fields or data:
                        return SseMessage(data="\n".join(data) if data else None, **fields)
                    continue
                if line.startswith(":"):
                    return SseMessage(comment=line[1:].strip())
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                elif name in ("id", "event"):
                    fields[name] = value
                elif name == "retry" and value.isdigit():
                    fields["retry"] = int(value)
            raise EOFError("the event stream ended")

    async def next_event(self) -> SseMessage:
        """The next dispatched event, skipping comments and id-only or retry-only messages."""
        async with asyncio.timeout(self.timeout):
            while True:
                message = await self.next()
                if message.is_event:
                    return message


@asynccontextmanager
async def open_events(
    client: httpx.AsyncClient, *, last_event_id: str | None = None, query_last_event_id: str | None = None
) -> AsyncIterator[EventStream]:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    params = {"lastEventId": query_last_event_id} if query_last_event_id is not None else None
    async with client.stream("GET", "/api/events", headers=headers, params=params) as response:
        yield EventStream(response)
