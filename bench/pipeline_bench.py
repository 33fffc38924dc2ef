"""Pipeline benchmark: `run_fetch` over 1,000 local sources against a plain thread pool of get + parse + store.

Run: .venv/bin/python bench/pipeline_bench.py [--sources 1000] [--entries 20] [--workers 16] [--repeat 3]
                                              [--scaling-sources 200] [--delay 0.05]

A loopback server (its own process, an asyncio loop on one port of 127.0.0.1) serves each source's
generated feed (bench/synthetic_feeds.py) and a robots.txt that allows everything. Every source has
its own host name (s<n>.bench.test, resolved to 127.0.0.1 by the Fetcher's guarded backend), so the
per-host politeness rules hold but do not serialise the pass, as with real partners.

1. Pipeline vs floor, same process, interleaved, best of --repeat: `run_fetch` (Fetcher with robots.txt
   on, parse, normalise, store one transaction per source, into a fresh SQLite file) against a
   ThreadPoolExecutor of the same width calling httpx.Client.get + parse_feed + normalise +
   store_resources (a fresh file too). Target: pipeline <= 1.5x the floor.
2. Worker scaling: --scaling-sources sources with every response held --delay seconds, run with 1, 4
   and 16 workers. Target: 16 workers at least 3x faster than 1.

The per-host delay is 0 here (one source per host; with the default 1 s the pass would time the sleep
between robots.txt and the feed). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
from synthetic_feeds import CONTENT_TYPE, generate_feeds

from aggregator.config.sources import SourceConfig
from aggregator.db.engine import create_db_engine, upgrade_database
from aggregator.db.robots_store import DatabaseRobotsStore
from aggregator.db.store import store_resources, sync_sources
from aggregator.ingest.adapters.feed import parse_feed
from aggregator.ingest.fetch import Fetcher, GuardedBackend, guarded_transport
from aggregator.ingest.normalize import normalize_entry
from aggregator.ingest.run import run_fetch, with_event
from aggregator.settings import FetchLimits, Settings

TARGET_VS_FLOOR = 1.5
TARGET_SCALING = 3.0
ROBOTS = b"User-agent: *\nAllow: /\n"


class BenchProtocol(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive responder: /robots.txt and /feed/<n>.xml, each after `delay` seconds."""

    def __init__(self, feeds: list[bytes], delay: float) -> None:
        self._feeds = feeds
        self._delay = delay
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while b"\r\n\r\n" in self._buffer:
            head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
            target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            if self._delay:
                asyncio.get_running_loop().call_later(self._delay, self._respond, target)
            else:
                self._respond(target)

    def _respond(self, target: str) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        if target == "/robots.txt":
            status, body, kind = "200 OK", ROBOTS, "text/plain\r\nCache-Control: max-age=86400"
        elif target.startswith("/feed/"):
            status, body, kind = "200 OK", self._feeds[int(target[6:].removesuffix(".xml"))], CONTENT_TYPE
        else:
            status, body, kind = "404 Not Found", b"not found", "text/plain"
        self._transport.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        )


def run_server(sources: int, entries: int, delays: list[float], ready: Connection) -> None:
    feeds = generate_feeds(sources, entries)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [
            await loop.create_server(lambda d=d: BenchProtocol(feeds, d), "127.0.0.1", 0, backlog=1024) for d in delays
        ]
        ready.send([s.sockets[0].getsockname()[1] for s in servers])
        await asyncio.Event().wait()

    asyncio.run(main())


def loopback(host: str, port: int, **_: object) -> list[tuple]:
    """Every bench host name is 127.0.0.1 (the guarded backend's resolver)."""
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]


def make_sources(count: int, port: int) -> list[SourceConfig]:
    return [
        SourceConfig(
            id=f"s{n}",
            name=f"Source {n}",
            url=f"http://s{n}.bench.test:{port}/feed/{n}.xml",
            adapter="feed",
            full_content=True,
        )
        for n in range(count)
    ]


def fresh_engine(path: Path, configs: list[SourceConfig]):
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    with engine.begin() as conn:
        sync_sources(conn, configs)
    return engine


def time_pipeline(path: Path, configs: list[SourceConfig], workers: int) -> tuple[float, int]:
    settings = Settings(
        _env_file=None,
        allow_private_addresses=True,
        data_dir=path.parent,
        fetch=FetchLimits(per_host_delay=0.0, max_workers=workers, robots_txt=True),
    )
    engine = fresh_engine(path, configs)
    transport = guarded_transport(settings, backend=GuardedBackend(allow_private=True, resolve=loopback))
    started = time.perf_counter()
    with Fetcher(settings, transport=transport, robots_store=DatabaseRobotsStore(engine)) as fetcher:
        outcomes = run_fetch(settings, configs, engine, fetcher)
    seconds = time.perf_counter() - started
    engine.dispose()
    failed = [o for o in outcomes if o.outcome != "new-data"]
    assert not failed, failed[:3]
    return seconds, sum(o.result.new for o in outcomes)


def time_floor(path: Path, configs: list[SourceConfig], port: int, workers: int) -> tuple[float, int]:
    engine = fresh_engine(path, configs)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with httpx.Client(trust_env=False) as client:

        def one(config: SourceConfig) -> int:
            number = config.id[1:]
            response = client.get(f"http://127.0.0.1:{port}/feed/{number}.xml")
            raw = parse_feed(
                response.content,
                config.url,
                content_type=response.headers.get("content-type"),
                with_content=config.full_content,
            )
            items = tuple(normalize_entry(with_event(e), config) for e in raw)
            with engine.begin() as conn:
                return store_resources(conn, config.id, items, now).new

        with ThreadPoolExecutor(workers) as pool:
            new = sum(pool.map(one, configs))
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scaling-sources", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds each response is held (scaling part)")
    parser.add_argument("--skip-floor", action="store_true", help="only the worker scaling")
    parser.add_argument("--skip-scaling", action="store_true", help="only pipeline vs floor")
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    server = context.Process(target=run_server, args=(args.sources, args.entries, [0.0, args.delay], send), daemon=True)
    server.start()
    try:
        fast_port, slow_port = receive.recv()
        failures: list[str] = []
        print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        with tempfile.TemporaryDirectory() as tmp:
            if not args.skip_floor:
                failures += compare_with_floor(args, Path(tmp), fast_port)
            if not args.skip_scaling:
                failures += measure_scaling(args, Path(tmp), slow_port)
        for failure in failures:
            print(f"MISSED: {failure}", file=sys.stderr)
        return 1 if failures else 0
    finally:
        server.terminate()
        server.join()


def compare_with_floor(args: argparse.Namespace, tmp: Path, port: int) -> list[str]:
    configs = make_sources(args.sources, port)
    expected = args.sources * args.entries
    ours, floor = [], []
    for run in range(args.repeat):
        seconds, new = time_floor(tmp / f"floor-{run}.db", configs, port, args.workers)
        assert new == expected, (new, expected)
        floor.append(seconds)
        seconds, new = time_pipeline(tmp / f"pipeline-{run}.db", configs, args.workers)
        assert new == expected, (new, expected)
        ours.append(seconds)
    ratio = min(ours) / min(floor)
    print(
        f"{args.sources} sources x {args.entries} entries, {args.workers} workers, robots.txt on, best of {args.repeat}"
    )
    print(f"floor (get+parse+store)  {min(floor):6.2f} s  runs {', '.join(f'{s:.2f}' for s in floor)}")
    print(f"pipeline (run_fetch)     {min(ours):6.2f} s  runs {', '.join(f'{s:.2f}' for s in ours)}")
    print(f"pipeline / floor         {ratio:6.2f}   (target <= {TARGET_VS_FLOOR})")
    return [f"the pipeline is {ratio:.2f}x its floor"] if ratio > TARGET_VS_FLOOR else []


def measure_scaling(args: argparse.Namespace, tmp: Path, port: int) -> list[str]:
    configs = make_sources(args.scaling_sources, port)
    seconds: dict[int, float] = {}
    for workers in (1, 4, 16):
        seconds[workers], _ = time_pipeline(tmp / f"scaling-{workers}.db", configs, workers)
        print(
            f"{args.scaling_sources} sources, {args.delay * 1000:.0f} ms a response, {workers:2} workers  "
            f"{seconds[workers]:6.2f} s"
        )
    speedup = seconds[1] / seconds[16]
    print(f"16 workers vs 1          {speedup:6.2f}x  (target >= {TARGET_SCALING})")
    return [f"16 workers are only {speedup:.2f}x faster than 1"] if speedup < TARGET_SCALING else []


if __name__ == "__main__":
    sys.exit(main())
