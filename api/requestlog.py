"""Request ids and the access log.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token (a proxy or a
client may have logged it already), else a new one. It is bound to structlog's context for
every line logged while the request runs, returned in the response's ``X-Request-ID``, and
carried into the jobs the request enqueues (``api.jobs`` copies it into the job's metadata,
and the worker binds it again), so one id follows a clip from the upload to the worker.
"""

from __future__ import annotations

import contextvars
import re
import time
import uuid
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

access_log = structlog.get_logger("echoes.access")


def accept_request_id(value: str | None) -> str:
    """The caller's id when it looks like one, else a fresh one (never log arbitrary bytes)."""
    if value and _VALID.match(value):
        return value
    return uuid.uuid4().hex


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope["headers"] if k == HEADER.encode()), None)
        request_id = accept_request_id(given)
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                headers.append((HEADER.encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                current_request_id.reset(token)
                client: Any = scope.get("client")
                access_log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    client=client[0] if client else None,
                )

    return middleware
