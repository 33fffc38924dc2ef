"""The feeds in a real reader: Debian's newsboat, driven non-interactively (`-x reload`, `-x print-unread`),
fetches them from the web app served on 127.0.0.1; its cache must then hold every approved resource.

newsboat 2.21 (Debian 11/12) reads RSS and Atom but not JSON Feed; the JSON Feed is read back by the
aggregator's own JSON Feed adapter in test_feeds.py."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from aggregator.db.schema import labels, resources
from tests.test_feeds import APPROVED, HOSTILE_TITLE, make_settings, seed
from tests.test_feeds_web import make_app

NEWSBOAT = shutil.which("newsboat")
pytestmark = pytest.mark.skipif(NEWSBOAT is None, reason="newsboat is not installed (Debian: apt-get install newsboat)")


@pytest.fixture
def served(tmp_path: Path, database_url: str, engine) -> Iterator[tuple[str, object]]:
    """The blueprint on a real HTTP server; settings.base_url is the server's own address."""
    server = make_server("127.0.0.1", 0, app=None, threaded=True)  # the app is set once the port is known
    base = f"http://127.0.0.1:{server.server_port}"
    settings = make_settings(tmp_path, database_url, base_url=base)
    server.app = make_app(settings, engine)
    thread = threading.Thread(target=server.serve_forever, name="feeds-http", daemon=True)
    thread.start()
    try:
        yield base, settings
    finally:
        server.shutdown()
        thread.join(5)


def run_newsboat(folder: Path, urls: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """newsboat with its own urls, config and cache in `folder`, no terminal, no user files."""
    folder.mkdir(exist_ok=True)
    (folder / "urls").write_text("\n".join(urls) + "\n")
    (folder / "config").write_text("download-timeout 10\nreload-threads 2\n")
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_CONFIG_HOME": str(folder),
        "XDG_DATA_HOME": str(folder),
        "TERM": "dumb",
    }
    return subprocess.run(
        [
            NEWSBOAT,
            "-u",
            str(folder / "urls"),
            "-c",
            str(folder / "cache.db"),
            "-C",
            str(folder / "config"),
            "-x",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def cached_items(folder: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(folder / "cache.db") as cache:
        cache.row_factory = sqlite3.Row
        return cache.execute("SELECT guid, title, url, feedurl, pubDate, content FROM rss_item").fetchall()


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_newsboat_reads_every_approved_resource(served, engine, tmp_path, fmt):
    base, _settings = served
    ids = seed(engine)
    folder = tmp_path / f"newsboat-{fmt}"
    feed_url = f"{base}/feeds/all.{fmt}"
    result = run_newsboat(folder, [feed_url], "reload")
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stdout + result.stderr, result.stdout + result.stderr

    items = {row["guid"]: row for row in cached_items(folder)}
    with engine.connect() as conn:
        approved = conn.execute(select(resources).where(resources.c.status == "approved")).all()
    assert len(approved) == len(APPROVED)
    assert set(items) == {r.canonical_url for r in approved}
    for row in approved:
        item = items[row.canonical_url]
        assert item["url"] == row.url and item["feedurl"] == feed_url
        expected = (row.published_at or row.decided_at).replace(microsecond=0)
        assert datetime.fromtimestamp(item["pubDate"], UTC) == expected
        if row.title != HOSTILE_TITLE:
            assert item["title"] == row.title
    hostile = items[next(r.canonical_url for r in approved if r.id == ids["hostile"])]
    assert "<script" not in hostile["content"].lower() and "javascript:" not in hostile["content"].lower()

    unread = run_newsboat(folder, [feed_url], "print-unread")
    assert unread.stdout.strip().startswith(f"{len(APPROVED)} unread"), unread.stdout

    again = run_newsboat(folder, [feed_url], "reload")  # a conditional GET now: nothing lost or doubled
    assert again.returncode == 0 and len(cached_items(folder)) == len(APPROVED)


def test_newsboat_reads_a_theme_feed_with_exactly_its_resources(served, engine, tmp_path):
    base, _settings = served
    seed(engine)
    with engine.connect() as conn:
        expected = set(
            conn.execute(
                select(resources.c.canonical_url)
                .join(labels, labels.c.resource_id == resources.c.id)
                .where(resources.c.status == "approved", labels.c.kind == "theme", labels.c.label_id == "kindness")
            ).scalars()
        )
    folder = tmp_path / "newsboat-theme"
    result = run_newsboat(folder, [f"{base}/feeds/theme/kindness.atom"], "reload")
    assert result.returncode == 0, result.stderr
    assert {row["guid"] for row in cached_items(folder)} == expected
