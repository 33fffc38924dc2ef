"""The feeds served by the web app's `published` blueprint: content types, caching headers, 304 answers
to If-None-Match and If-Modified-Since, 404 for unknown labels, the feeds index."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from flask import Flask
from werkzeug.http import http_date

from aggregator.review.lifecycle import change_resource_status
from aggregator.web.published import bp
from tests.support.resources import NOW
from tests.test_feeds import APPROVED, BASE, seed, settings  # noqa: F401 (a fixture)


def make_app(settings, engine) -> Flask:
    """A minimal app with only this blueprint, configured the way the app factory does."""
    app = Flask(__name__)
    # changes show at once here (the background rebuild is tested in test_public_pages_cache.py)
    app.config.update(
        TESTING=True, AGGREGATOR_SETTINGS=settings, AGGREGATOR_ENGINE=engine, AGGREGATOR_PUBLISHED_REBUILD_INLINE=True
    )
    app.register_blueprint(bp)
    return app


@pytest.fixture
def client(settings, engine):
    return make_app(settings, engine).test_client()


@pytest.mark.parametrize(
    "path, media_type",
    [
        ("/feeds/all.rss", "application/rss+xml"),
        ("/feeds/all.atom", "application/atom+xml"),
        ("/feeds/all.json", "application/feed+json"),
        ("/feeds/theme/kindness.rss", "application/rss+xml"),
        ("/feeds/audience/leaders.atom", "application/atom+xml"),
        ("/feeds/theme/teamwork.json", "application/feed+json"),
    ],
)
def test_feeds_are_served_with_their_type_and_validators(engine, client, path, media_type):
    seed(engine)
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == media_type and response.mimetype_params.get("charset") == "utf-8"
    assert response.headers["ETag"].startswith('"') and response.last_modified is not None
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert f"{BASE}{path}".encode() in response.data  # the self link is the feed's own address


def test_if_none_match_and_if_modified_since_answer_304(engine, client):
    ids = seed(engine)
    first = client.get("/feeds/all.rss")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/all.rss").headers["ETag"] == etag  # stable while nothing changes

    not_modified = client.get("/feeds/all.rss", headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.data == b""
    assert not_modified.headers["ETag"] == etag and "Cache-Control" in not_modified.headers
    assert client.get("/feeds/all.rss", headers={"If-Modified-Since": last_modified}).status_code == 304
    assert (
        client.get(
            "/feeds/all.rss", headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}
        ).status_code
        == 200
    )  # If-None-Match wins (RFC 9110 13.2.2)
    assert client.get("/feeds/all.atom", headers={"If-None-Match": etag}).status_code == 200  # one per format

    with engine.begin() as conn:  # an editor approves one more
        change_resource_status(conn, ids["Not approved"], "approved", user_id=None, now=NOW + timedelta(hours=2))
    changed = client.get("/feeds/all.rss", headers={"If-None-Match": etag, "If-Modified-Since": last_modified})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"Not approved" in changed.data

    with engine.begin() as conn:  # a resource leaving the feed moves Last-Modified on too
        change_resource_status(conn, ids["Not approved"], "rejected", user_id=None, now=NOW + timedelta(hours=3))
    since = http_date(NOW + timedelta(hours=2, minutes=30))
    assert client.get("/feeds/all.rss", headers={"If-Modified-Since": since}).status_code == 200


def test_unknown_labels_and_formats_are_404(engine, client):
    seed(engine)
    assert client.get("/feeds/theme/no-such-theme.rss").status_code == 404
    assert client.get("/feeds/audience/kindness.rss").status_code == 404  # a theme, not an audience
    assert client.get("/feeds/all.xml").status_code == 404
    assert client.get("/feeds/colour/red.rss").status_code == 404


def test_feeds_index_and_opml_list_every_feed(engine, client, settings):
    seed(engine)
    index = client.get("/feeds/")
    assert index.status_code == 200 and index.mimetype == "text/html"
    page = index.get_data(as_text=True)
    assert f'href="{BASE}/feeds/all.json"' in page and f'href="{BASE}/feeds/audience/leaders.rss"' in page
    assert '<link rel="alternate" type="application/atom+xml"' in page
    assert client.get("/feeds/", headers={"If-None-Match": index.headers["ETag"]}).status_code == 304
    opml = client.get("/feeds/index.opml")
    assert opml.status_code == 200 and opml.data.count(b"<outline ") > len(APPROVED)


def test_label_names_are_read_again_when_the_taxonomy_changes(engine, settings, tmp_path):
    seed(engine)
    taxonomy = tmp_path / "taxonomy.yaml"
    taxonomy.write_text(settings.taxonomy_file.read_text())
    client = make_app(settings.model_copy(update={"taxonomy_file": taxonomy}), engine).test_client()
    assert b"Kindness in care digest: Kindness<" in client.get("/feeds/theme/kindness.rss").data
    text = taxonomy.read_text().replace("name: Kindness\n", "name: Everyday kindness\n", 1)
    assert text != taxonomy.read_text()
    taxonomy.write_text(text)
    os.utime(taxonomy, ns=(1, 1))  # a different mtime even on a coarse clock
    assert b"Kindness in care digest: Everyday kindness<" in client.get("/feeds/theme/kindness.rss").data
