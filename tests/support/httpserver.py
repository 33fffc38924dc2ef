"""A real, route-based HTTP/1.1 server on 127.0.0.1 for tests, which records every request it receives.

Start it as a context manager or through the `http_server` pytest fixture (import the fixture
into a test module, or list this module in `pytest_plugins` of the top-level conftest)::

    from tests.support.httpserver import LocalServer, Reply, http_server  # noqa: F401

    def test_feed(http_server):
        http_server.add("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml",
                                                              "ETag": '"v1"'})
        http_server.add("/old", status=301, headers={"Location": "/feed.xml"})
        http_server.add("/slow", body=b"abcdef", chunk_size=1, delay=0.5)      # 1 byte per 0.5 s
        http_server.add("/huge", body=lambda: (b"x" * 65536 for _ in range(800)))  # streamed, no length
        http_server.add_handler("/echo", lambda request: Reply(body=request.path.encode()))
        url = http_server.url("/feed.xml")
        ...
        assert http_server.requests_to("/feed.xml")[-1].headers["if-none-match"] == '"v1"'

Routes
    `add(path, **reply)` registers a fixed `Reply`; `add_handler(path, fn)` a function from the
    `RecordedRequest` to a `Reply`. A route path may include a query (`/search?q=x`); a request
    matches an exact path+query route first, then a route for its path alone; anything else is 404.
    Registering a path again replaces its route, so a test can change what a URL serves.

Replies
    `status`, `headers`, and `body`: bytes, or a zero-argument callable returning an iterable of
    bytes (called afresh for each request; such bodies are sent without Content-Length and the
    connection is closed after them). `chunk_size` splits a bytes body into writes of that size;
    `delay` sleeps before each write. A `Content-Length` given in `headers` is sent as is, even
    when it does not match the body (to test lying servers). With `conditional=True` (the
    default) a reply whose headers carry an ETag or Last-Modified answers 304 to a matching
    If-None-Match / If-Modified-Since, as real servers do.

Records
    `requests` lists a `RecordedRequest` (method, path with query, lower-cased headers, body,
    monotonic `started` / `ended` times) per request, in the order they arrived (recorded before
    the reply is written, so a client never sees a reply before its request is listed; `ended`
    is None until the reply is written);
    `requests_to(path)` filters them; `body_bytes_sent` counts body bytes written.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

BodySource = bytes | Callable[[], Iterable[bytes]]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a route answers."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: BodySource = b""
    chunk_size: int | None = None
    delay: float = 0.0
    conditional: bool = True


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as the server received it; `ended` is when the reply was written (or failed)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    started: float
    ended: float | None = None

    @property
    def route_path(self) -> str:
        return urlsplit(self.path).path


Handler = Callable[[RecordedRequest], Reply]


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1 (ephemeral port) in a daemon thread, serving registered routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._routes: dict[str, Handler] = {}
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._body_bytes = 0
        self._httpd = _Server((host, port), _RequestHandler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="local-http", daemon=True)

    # lifecycle
    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses
    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # routes
    def add(
        self,
        path: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        body: BodySource = b"",
        chunk_size: int | None = None,
        delay: float = 0.0,
        conditional: bool = True,
    ) -> None:
        reply = Reply(status, dict(headers or {}), body, chunk_size, delay, conditional)
        self.add_handler(path, lambda _request: reply)

    def add_handler(self, path: str, handler: Handler) -> None:
        with self._lock:
            self._routes[path] = handler

    # records
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path or r.route_path == path]

    @property
    def body_bytes_sent(self) -> int:
        with self._lock:
            return self._body_bytes

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self._body_bytes = 0

    # used by the request handler
    def _find(self, path: str) -> Handler | None:
        with self._lock:
            return self._routes.get(path) or self._routes.get(urlsplit(path).path)

    def _record_start(self, request: RecordedRequest) -> int:
        with self._lock:
            self._records.append(request)
            return len(self._records) - 1

    def _record_end(self, index: int, ended: float, sent: int) -> None:
        with self._lock:
            if index < len(self._records):  # clear() may have run meanwhile
                self._records[index] = dataclasses.replace(self._records[index], ended=ended)
            self._body_bytes += sent


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    owner: LocalServer

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)  # clients hanging up are normal in these tests


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - keep test output quiet
        pass

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            started=time.monotonic(),
        )
        index = self.server.owner._record_start(request)
        sent = 0
        try:
            handler = self.server.owner._find(self.path)
            reply = handler(request) if handler else Reply(404, {"Content-Type": "text/plain"}, b"not found")
            if reply.conditional and _is_not_modified(reply, request):
                reply = Reply(304, {k: v for k, v in reply.headers.items() if k.lower() != "content-length"})
            for written in self._write(reply):
                sent += written
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.server.owner._record_end(index, time.monotonic(), sent)

    def _write(self, reply: Reply) -> Iterator[int]:
        self.send_response(reply.status)
        lowered = {k.lower(): v for k, v in reply.headers.items()}
        for name, value in reply.headers.items():
            self.send_header(name, value)
        no_body = reply.status in (204, 304) or 100 <= reply.status < 200 or self.command == "HEAD"
        if isinstance(reply.body, bytes):
            if "content-length" not in lowered and reply.status not in (204, 304):
                self.send_header("Content-Length", str(len(reply.body)))
            elif lowered.get("content-length", str(len(reply.body))) != str(len(reply.body)):
                self.close_connection = True  # the stream is out of step after a lying length
            size = reply.chunk_size or max(len(reply.body), 1)
            pieces: Iterable[bytes] = (reply.body[i : i + size] for i in range(0, len(reply.body), size))
        else:
            self.close_connection = True  # no length: the end of the body is the end of the connection
            pieces = reply.body()
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if no_body:
            return
        for piece in pieces:
            if reply.delay:
                time.sleep(reply.delay)
            self.wfile.write(piece)
            yield len(piece)


def _is_not_modified(reply: Reply, request: RecordedRequest) -> bool:
    if not 200 <= reply.status < 300:
        return False
    headers = {k.lower(): v for k, v in reply.headers.items()}
    etag, if_none_match = headers.get("etag"), request.headers.get("if-none-match")
    if etag and if_none_match:
        return etag in [tag.strip() for tag in if_none_match.split(",")] or if_none_match.strip() == "*"
    modified, if_modified_since = headers.get("last-modified"), request.headers.get("if-modified-since")
    return bool(modified and if_modified_since and modified == if_modified_since)


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A started LocalServer, stopped after the test."""
    with LocalServer() as server:
        yield server
