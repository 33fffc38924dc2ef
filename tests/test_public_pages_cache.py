"""The feeds index is answered from a cache: one stamp query per request while nothing changed, built again
after the feeds are rebuilt or an editor decides (counted in SQL statements, never in time)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, update

from aggregator.db.schema import resources
from aggregator.publish.cache import StampedCache, inline
from aggregator.publish.feeds.build import BUILT_MARKER, build_feeds
from aggregator.review.lifecycle import change_resource_status
from tests.support.resources import NOW
from tests.test_feeds import seed, settings  # noqa: F401 (a fixture)
from tests.test_feeds_web import make_app


@pytest.fixture
def statements(engine):
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def get_index(client, statements) -> tuple[bytes, int]:
    statements.clear()
    response = client.get("/feeds/")
    assert response.status_code == 200
    return response.data, len(statements)


def test_the_feeds_index_is_cached_until_the_feeds_are_rebuilt(engine, settings, statements):  # noqa: F811
    seed(engine)
    client = make_app(settings, engine).test_client()
    first, built = get_index(client, statements)
    assert built > 2  # every feed was read
    again, cached = get_index(client, statements)
    assert again == first and cached == 1  # only the stamp: the newest decision
    assert get_index(client, statements)[1] == 1

    build_feeds(engine, settings, NOW)
    assert (settings.feeds_dir / BUILT_MARKER).is_file()
    rebuilt, count = get_index(client, statements)
    assert count == built and rebuilt == first  # built again after the rebuild; same content
    assert get_index(client, statements)[1] == 1


def test_an_editors_decision_refreshes_the_index(engine, settings, statements):  # noqa: F811
    ids = seed(engine)
    client = make_app(settings, engine).test_client()
    before, _ = get_index(client, statements)
    with engine.begin() as conn:
        change_resource_status(conn, ids["Not approved"], "approved", user_id=None, now=NOW + timedelta(hours=2))
    after, count = get_index(client, statements)
    assert count > 2 and after != before  # one entry more in the combined feed and its label's feed


def test_the_opml_list_is_cached_the_same_way(engine, settings, statements):  # noqa: F811
    seed(engine)
    client = make_app(settings, engine).test_client()
    client.get("/feeds/index.opml")
    statements.clear()
    assert client.get("/feeds/index.opml").status_code == 200 and len(statements) == 1


def test_a_stale_value_is_served_while_it_is_built_again_in_the_background():
    rebuilds: list = []
    cache = StampedCache(spawn=rebuilds.append)  # holds the rebuild until the test runs it
    assert cache.get("index", 1, lambda: "old") == "old"  # nothing to serve yet: built by the asking request
    assert cache.get("index", 1, lambda: "never built") == "old"
    assert cache.get("index", 2, lambda: "new") == "old"  # stale: served at once, rebuilt elsewhere
    assert cache.get("index", 2, lambda: "built twice") == "old" and len(rebuilds) == 1  # one rebuild only
    rebuilds.pop()()
    assert cache.get("index", 2, lambda: "never built") == "new"


def test_a_background_rebuild_in_a_thread_is_seen_once_settled():
    cache = StampedCache()
    assert cache.get("index", 1, lambda: "old") == "old"
    assert cache.get("index", 2, lambda: "new") in {"old", "new"}  # whichever the thread has reached
    assert cache.settle(30)
    assert cache.get("index", 2, lambda: "never built") == "new"


def test_pages_made_stale_together_are_rebuilt_one_at_a_time():
    import threading

    cache, together, running, most = StampedCache(), threading.Condition(), [0], [0]

    def build(value: str):
        def run() -> str:
            with together:
                running[0] += 1
                most[0] = max(most[0], running[0])
                together.notify_all()
                together.wait_for(lambda: running[0] > 1, 0.02)  # room for a second build to start, if one could
                running[0] -= 1
            return value

        return run

    keys = [("feed", n) for n in range(20)]
    for key in keys:
        cache.get(key, 1, build("old"))
    assert all(cache.get(key, 2, build("new")) in {"old", "new"} for key in keys)
    assert cache.settle(30)
    assert [cache.get(key, 2, build("never built")) for key in keys] == ["new"] * 20
    assert most == [1]  # one database connection for rebuilds, whatever the number of stale pages


def test_a_failed_rebuild_keeps_the_old_value_and_is_tried_again(caplog):
    cache = StampedCache(spawn=inline)

    def broken() -> str:
        raise RuntimeError("database went away")

    assert cache.get("index", 1, lambda: "old") == "old"
    assert cache.get("index", 2, broken) == "old"
    assert "public page rebuild failed" in caplog.text
    assert cache.get("index", 2, lambda: "new") == "new"


def test_an_approval_shows_in_the_feed_after_the_background_rebuild(engine, settings):  # noqa: F811
    ids = seed(engine)
    app = make_app(settings, engine)
    app.config["AGGREGATOR_PUBLISHED_REBUILD_INLINE"] = False  # as deployed: a thread rebuilds
    client = app.test_client()
    assert b"Not approved" not in client.get("/feeds/all.rss").data
    with engine.begin() as conn:
        change_resource_status(conn, ids["Not approved"], "approved", user_id=None, now=NOW + timedelta(hours=2))
    client.get("/feeds/all.rss")  # notices the new stamp: the old feed, or the new one if the thread was quick
    assert app.extensions["published-pages"].stamped.settle(30)
    assert b"Not approved" in client.get("/feeds/all.rss").data


def test_an_edit_to_a_resource_shows_in_its_feed(engine, settings):  # noqa: F811
    ids = seed(engine)
    client = make_app(settings, engine).test_client()
    assert b"Kindness toolkit" in client.get("/feeds/all.rss").data
    with engine.begin() as conn:  # as review/edits.py saves an editor's change
        conn.execute(
            update(resources)
            .where(resources.c.id == ids["Kindness toolkit"])
            .values(title="Kindness toolkit, second edition", modified_at=NOW + timedelta(hours=5))
        )
    assert b"Kindness toolkit, second edition" in client.get("/feeds/all.rss").data


def test_threads_asking_for_a_page_not_built_yet_wait_for_the_one_build():
    import threading

    cache, builds, started = StampedCache(), [], threading.Event()
    release = threading.Event()

    def slow_build() -> str:
        builds.append(1)
        started.set()
        release.wait(30)
        return "index"

    first = threading.Thread(target=lambda: cache.get("index", 1, slow_build))
    first.start()
    started.wait(30)
    answers: list[str] = []
    waiting = [threading.Thread(target=lambda: answers.append(cache.get("index", 1, slow_build))) for _ in range(4)]
    for thread in waiting:
        thread.start()
    release.set()
    for thread in (first, *waiting):
        thread.join(30)
    assert answers == ["index"] * 4 and builds == [1]
