"""The growth bench's loopback feed server: /robots.txt and /feed/<n>.xml with an ETag, 304 when it is sent back."""

from __future__ import annotations

import asyncio
from multiprocessing.connection import Connection

from pipeline_bench import ROBOTS, BenchProtocol
from synthetic_feeds import CONTENT_TYPE, generate_feeds


class ConditionalProtocol(BenchProtocol):
    """HTTP/1.1 keep-alive: /robots.txt and /feed/<n>.xml with an ETag; 304 when If-None-Match sends it back."""

    def __init__(self, feeds: list[bytes]) -> None:
        super().__init__(feeds, delay=0.0)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
            self._answer(lines[0].split(" ")[1], headers.get("if-none-match"))

    def _answer(self, target: str, etag: str | None) -> None:
        assert self._transport is not None
        extra = ""
        if target == "/robots.txt":
            status, body, kind = "200 OK", ROBOTS, "text/plain"
        elif target.startswith("/feed/"):
            number = int(target[6:].removesuffix(".xml"))
            tag = f'"f{number}"'
            status, body, kind = ("304 Not Modified", b"", CONTENT_TYPE) if etag == tag else ("200 OK", None, None)
            if body is None:
                body, kind = self._feeds[number], CONTENT_TYPE
            extra = f"ETag: {tag}\r\n"
        else:
            status, body, kind = "404 Not Found", b"not found", "text/plain"
        self._transport.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n{extra}Content-Length: {len(body)}\r\n\r\n".encode() + body
        )


def run_server(sources: int, entries: int, ready: Connection) -> None:
    feeds = generate_feeds(sources, entries)

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            lambda: ConditionalProtocol(feeds), "127.0.0.1", 0, backlog=1024
        )
        ready.send(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())
