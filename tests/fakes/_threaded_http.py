"""The HTTP plumbing the provider fakes share: a threaded server on 127.0.0.1, a random port.

A fake subclasses :class:`FakeHTTPServer` and implements :meth:`~FakeHTTPServer.route`,
which turns one :class:`FakeRequest` into one :class:`Reply`. Every request is recorded so
tests can count what a client really sent. The server speaks HTTP/1.1 with keep-alive
(as real APIs do, and as httpx expects) and always sends ``Content-Length``.
"""

from __future__ import annotations

import abc
import json
import threading
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    @classmethod
    def error(cls, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        return cls.json(status, {"error": message}, headers)


@dataclass(frozen=True)
class ScriptedFailure:
    """An error answer the fake gives the next matching request instead of serving it."""

    status: int
    path_prefix: str
    headers: dict[str, str]


class FakeHTTPServer(abc.ABC):
    """Base of the provider fakes; use as a context manager (or ``start``/``stop``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[FakeRequest] = []
        self.crashes: list[str] = []
        self._scripted: list[ScriptedFailure] = []
        self._closing = threading.Event()
        #: Seconds every answer is held back (a slow network or an overloaded service).
        self.response_delay = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _serve

        self._closing.clear()
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(
        self,
        *statuses: int,
        path_prefix: str = "/",
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
    ) -> None:
        """Answer the next requests under ``path_prefix`` with these statuses, in order."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        with self.lock:
            self._scripted += [ScriptedFailure(s, path_prefix, headers) for s in statuses]

    def count(self, method: str | None = None, path_prefix: str = "/") -> int:
        """How many requests arrived (of ``method``, under ``path_prefix``)."""
        with self.lock:
            return sum(
                1
                for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(path_prefix)
            )

    @abc.abstractmethod
    def route(self, request: FakeRequest) -> Reply:
        """Answer one request: each fake implements its service's routes here."""

    def _scripted_failure(self, request: FakeRequest) -> Reply | None:
        with self.lock:
            for i, failure in enumerate(self._scripted):
                if request.path.startswith(failure.path_prefix):
                    del self._scripted[i]
                    return Reply.error(
                        failure.status, f"scripted failure ({failure.status})", failure.headers
                    )
        return None

    def _handle(self, http: BaseHTTPRequestHandler) -> None:
        length = int(http.headers.get("Content-Length") or 0)
        body = http.rfile.read(length) if length else b""
        parts = urlsplit(http.path)
        request = FakeRequest(
            method=http.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query)),
            headers={k.lower(): v for k, v in http.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(request)
        if self.response_delay:
            self._closing.wait(self.response_delay)
        try:
            reply = self._scripted_failure(request) or self.route(request)
        except Exception:
            trace = traceback.format_exc()
            with self.lock:
                self.crashes.append(trace)
            reply = Reply.error(500, "the fake crashed: " + trace.strip().splitlines()[-1])
        http.send_response(reply.status)
        for name, value in reply.headers.items():
            http.send_header(name, value)
        http.send_header("Content-Length", str(len(reply.body)))
        http.end_headers()
        if request.method != "HEAD" and reply.body:
            http.wfile.write(reply.body)
