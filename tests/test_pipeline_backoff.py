"""Failing sources back off (every failure kind, exponentially, with jitter, reset by a success) and say why;
a pass over many sources of one host stays polite; a pass where nothing could be reached says the machine
seems offline."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from aggregator.config.sources import SourceConfig, parse_sources
from aggregator.db.schema import sources
from aggregator.errors import FetchError, HTTPStatusError, NetworkError, RateLimitedError, TooManyRedirectsError
from aggregator.ingest.fetch import Fetcher
from aggregator.ingest.run import BACKOFF_FIRST, BACKOFF_MAX, backoff_delay, run_fetch
from aggregator.review.health import source_health
from aggregator.settings import FetchLimits, Settings
from tests.support.fakes import FakeFetched, FakeFetcher, rss
from tests.support.httpserver import LocalServer, http_server  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
URL = "https://alpha.example/feed"
[ALPHA] = parse_sources(f'sources:\n  - {{id: alpha, name: Alpha, url: "{URL}", adapter: feed}}\n').sources
GOOD = FakeFetched(URL, body=rss([("Kindness in healthcare", "https://alpha.example/k")]))


def run(engine, answer, now, *, retry_now=False):
    [outcome] = run_fetch(
        Settings(_env_file=None),
        [ALPHA],
        engine,
        FakeFetcher({URL: answer}),
        clock=lambda: now,
        jitter=lambda: 0.0,
        retry_now=retry_now,
    )
    return outcome


def stored(engine):
    with engine.connect() as conn:
        return conn.execute(select(sources).where(sources.c.id == "alpha")).one()


@pytest.mark.parametrize(
    "failure",
    [
        NetworkError("timeout: the site hung", url=URL, cause="timeout"),
        TooManyRedirectsError("redirect loop back to /a", url=URL),
        HTTPStatusError("HTTP 500", url=URL, status=500),
        FetchError("RemoteProtocolError: Server disconnected", url=URL),
    ],
    ids=["hang", "redirect-loop", "http-500", "other"],
)
def test_every_failure_kind_backs_off_and_a_success_resets_it(engine, failure):
    """Before, only 429/503/410 paused a source: a hang, a loop or a 500 was tried again at every run."""
    assert run(engine, failure, NOW).outcome == "failed"
    first = stored(engine)
    assert first.paused_until == NOW + BACKOFF_FIRST / 2  # jitter 0: half the full wait
    assert first.pause_reason.startswith("backing off after 1 failure in a row (last: ")
    skipped = run(engine, GOOD, NOW + timedelta(minutes=5))
    assert skipped.outcome == "skipped" and "backing off" in skipped.error
    assert run(engine, failure, NOW + BACKOFF_FIRST).outcome == "failed"
    second = stored(engine)
    assert second.paused_until == NOW + BACKOFF_FIRST + BACKOFF_FIRST  # doubled: 2 x 15 min, half of it
    assert "after 2 failures in a row" in second.pause_reason
    assert run(engine, GOOD, NOW + timedelta(days=1)).outcome == "new-data"
    healthy = stored(engine)
    assert (healthy.paused_until, healthy.pause_reason, healthy.consecutive_failures) == (None, None, 0)


def test_the_cause_is_named_in_the_pause_and_in_health(engine):
    run(engine, NetworkError("DNS failure: cannot resolve alpha.example", url=URL, cause="DNS failure"), NOW)
    [health] = source_health(engine, [ALPHA], now=NOW)
    assert health.state == "failing" and "cannot resolve" in health.problem
    assert health.next_try.startswith(f"{NOW + BACKOFF_FIRST / 2:%Y-%m-%d %H:%M} UTC: backing off")
    assert "(last: DNS failure)" in health.next_try


@pytest.mark.parametrize(
    ("failures", "jitter", "expected"),
    [
        (1, 0.0, BACKOFF_FIRST / 2),
        (1, 0.999, BACKOFF_FIRST * 0.9995),
        (3, 0.0, BACKOFF_FIRST * 2),
        (40, 0.0, BACKOFF_MAX / 2),
        (40, 0.5, BACKOFF_MAX * 0.75),
    ],
)
def test_backoff_doubles_up_to_a_day_with_half_of_it_jittered(failures, jitter, expected):
    assert backoff_delay(failures, jitter) == expected


def test_retry_now_cuts_a_backoff_short_but_not_the_sites_own_pause(engine):
    run(engine, HTTPStatusError("HTTP 500", url=URL, status=500), NOW)
    assert run(engine, GOOD, NOW + timedelta(minutes=1), retry_now=True).outcome == "new-data"
    limited = RateLimitedError("HTTP 429", url=URL, status=429, retry_after=3600)
    run(engine, limited, NOW + timedelta(minutes=2))
    assert stored(engine).pause_reason == "the site asked us to wait (HTTP 429)"
    again = run(engine, GOOD, NOW + timedelta(minutes=3), retry_now=True)
    assert again.outcome == "skipped" and "the site asked us to wait" in again.error


def test_a_pass_over_one_hosts_sources_is_one_request_at_a_time_with_the_delay(engine, http_server: LocalServer):
    """Eight workers, twelve sources on one host: each request starts at least the per-host delay after the
    previous one started, which also means never two at once, since every answer takes 20 ms plus the delay
    (the politeness of the pass is unchanged by storing in the workers). Starts, not the server's recorded
    ends, are compared: a busy machine can record an end late, but the gate adds 20 ms of margin here."""
    configs = []
    for n in range(12):
        http_server.add(f"/feed{n}.xml", body=rss([(f"Care {n}", f"https://p.example/{n}")]), delay=0.02)
        configs.append(SourceConfig(id=f"s{n}", name=f"S{n}", url=http_server.url(f"/feed{n}.xml"), adapter="feed"))
    settings = Settings(
        _env_file=None,
        allow_private_addresses=True,
        fetch=FetchLimits(per_host_delay=0.1, max_workers=8, robots_txt=False),
    )
    with Fetcher(settings) as fetcher, ThreadPoolExecutor(2) as other:
        # the same Fetcher fetching the host from elsewhere too (a "fetch now" while the pass runs)
        extra = other.submit(lambda: [fetcher.fetch(http_server.url("/feed0.xml")) for _ in range(3)])
        outcomes = run_fetch(settings, configs, engine, fetcher)
        extra.result()
    assert {o.outcome for o in outcomes} == {"new-data"}
    served = sorted(http_server.requests, key=lambda r: r.started)
    assert len(served) == 15
    for before, after in zip(served, served[1:]):
        assert after.started - before.started >= 0.1


def test_run_ends_with_one_offline_line_when_nothing_could_be_reached(tmp_path):
    """Every source refused (a closed port on 127.0.0.1 stands for a machine with no network)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        "version: 1\nsources:\n"
        + "".join(
            f"  - {{id: s{n}, name: S{n}, url: 'http://127.0.0.1:{port}/feed{n}.xml', adapter: feed}}\n"
            for n in range(3)
        )
    )
    env = {
        **os.environ,
        "AGGREGATOR_DATA_DIR": str(tmp_path / "var"),
        "AGGREGATOR_SOURCES_FILE": str(sources_file),
        "AGGREGATOR_ALLOW_PRIVATE_ADDRESSES": "true",
        "AGGREGATOR_FETCH__PER_HOST_DELAY": "0",
        "AGGREGATOR_TAXONOMY_FILE": str(ROOT / "taxonomy.yaml"),
        "COLUMNS": "200",
    }
    env.pop("AGGREGATOR_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "aggregator", "fetch"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("No source could be reached over the network: this machine seems to be offline.")
    assert "`make demo`" in lines[-1]
    failed = [line for line in lines if line.startswith("✗ ")]
    assert len(failed) == 3 and all("(connection refused)" in line for line in failed), failed
    assert "disallow" not in done.stderr and "disallow" not in done.stdout
