"""The published feeds: RSS 2.0, Atom and JSON Feed parse back with every approved resource, follow the
validators' rules, keep fetched text inert, and per-label feeds hold exactly their resources."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from sqlalchemy import insert, select, update

from aggregator.db.schema import labels, resources
from aggregator.dedupe.merge import dedupe_resources
from aggregator.ingest.adapters.jsonfeed import parse_json_feed
from aggregator.model import Event, RawEntry
from aggregator.publish.feeds import ALL, FeedKey, build_feeds, load_context, load_feed, render_feed
from aggregator.review.lifecycle import change_resource_status
from aggregator.settings import Settings
from tests.support.resources import NOW, source, store

ROOT = Path(__file__).resolve().parents[1]
BASE = "https://digest.example.org"
HUB, NHSE = source("pslhub"), source("nhse")
HOSTILE_TITLE = "<script>alert(1)</script> ]]> Bell\x07 & <b>bold</b>"
HOSTILE_HTML = (
    '<p onclick="x()">Read <a href="javascript:alert(1)">this</a><script>steal()</script>'
    '<img src="x" onerror="alert(2)"><iframe src="https://evil.example/"></iframe>\x0b]]></p>'
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
FORMATS = ("rss", "atom", "json")
LABELS = [  # (title, kind, label_id)
    ("Kindness toolkit", "theme", "kindness"),
    ("Kindness toolkit", "audience", "frontline-staff"),
    ("Leadership guide", "theme", "compassionate-leadership"),
    ("Leadership guide", "audience", "leaders"),
    ("Leadership guide", "theme", "kindness"),
    ("December conversation", "theme", "teamwork"),
    ("Not approved", "theme", "kindness"),
    ("Rejected one", "theme", "kindness"),
]


def make_settings(tmp_path: Path, database_url: str, **extra) -> Settings:
    sources_file = tmp_path / "sources.yaml"
    sources_file.write_text(
        "version: 1\nsources:\n"
        "  - {id: pslhub, name: PSL hub, url: 'https://pslhub.example/feed', adapter: feed}\n"
        "  - {id: nhse, name: NHS England, url: 'https://nhse.example/feed', adapter: feed}\n"
    )
    values = {
        "data_dir": tmp_path / "var",
        "database_url": database_url,
        "base_url": BASE,
        "taxonomy_file": ROOT / "taxonomy.yaml",
        "sources_file": sources_file,
        **extra,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


def seed(engine) -> dict[str, int]:
    """Approved: a toolkit listed by two partners, a guide, an event and a hostile one; plus one pending
    and one rejected. Returns ids by title."""
    store(
        engine,
        HUB,
        [
            RawEntry(
                url="https://pslhub.example/a",
                title="Kindness toolkit",
                published=NOW - timedelta(days=3),
                summary_html='<p>A <a href="https://pslhub.example/more">practical</a> toolkit.</p>',
                authors=("Ann Example",),
            ),
            RawEntry(url="https://pslhub.example/b", title="Leadership guide", published=NOW - timedelta(days=2)),
            RawEntry(
                url="https://pslhub.example/c",
                title="December conversation",
                summary_html="<p>A monthly conversation.</p>",
                event=Event(
                    start=NOW + timedelta(days=33, hours=5),
                    end=NOW + timedelta(days=33, hours=6),
                    timezone="Europe/London",
                    location="Online (Zoom)",
                    online=True,
                    registration_url="https://pslhub.example/c/register",
                ),
            ),
            RawEntry(url="https://pslhub.example/h", title="placeholder", published=NOW - timedelta(days=1)),
            RawEntry(url="https://pslhub.example/d", title="Not approved"),
            RawEntry(url="https://pslhub.example/e", title="Rejected one"),
        ],
    )
    store(engine, NHSE, [RawEntry(url="https://pslhub.example/a", title="Kindness toolkit (NHSE)")])
    dedupe_resources(engine, NOW)
    with engine.begin() as conn:
        ids = dict(conn.execute(select(resources.c.title, resources.c.id).where(resources.c.status != "merged")).all())
        # Stored as if an older version had let them through: the feeds must defend on their own.
        conn.execute(
            update(resources)
            .where(resources.c.id == ids["placeholder"])
            .values(title=HOSTILE_TITLE, summary_html=HOSTILE_HTML, summary="<script>x</script>\x01")
        )
        ids["hostile"] = ids.pop("placeholder")
        conn.execute(
            insert(labels),
            [
                {
                    "resource_id": ids[t],
                    "kind": k,
                    "label_id": i,
                    "confidence": 0.8,
                    "reasons": [],
                    "origin": "classifier",
                }
                for t, k, i in LABELS
            ],
        )
        for n, title in enumerate(("Kindness toolkit", "Leadership guide", "December conversation", "hostile")):
            change_resource_status(conn, ids[title], "approved", user_id=None, now=NOW + timedelta(minutes=n))
        change_resource_status(conn, ids["Rejected one"], "rejected", user_id=None, now=NOW)
        GUIDS.clear()
        GUIDS.update(conn.execute(select(resources.c.id, resources.c.canonical_url)).all())
    return ids


APPROVED = ("Kindness toolkit", "Leadership guide", "December conversation", "hostile")


@dataclass(frozen=True)
class ParsedEntry:
    id: str
    title: str
    link: str
    published: datetime
    html: str


def parse_back(data: bytes, fmt: str) -> list[ParsedEntry]:
    """The entries as a reader sees them: feedparser for RSS and Atom (bozo must be false); for JSON Feed,
    which feedparser 6.0 does not read, the aggregator's own JSON Feed adapter."""
    if fmt == "json":
        return [
            ParsedEntry(e.guid or "", e.title, e.url, e.published, e.content_html or e.summary_html or "")
            for e in parse_json_feed(data, BASE)
        ]
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [
        ParsedEntry(
            e.id,
            e.title,
            e.link,
            datetime(*e.published_parsed[:6], tzinfo=UTC),
            e.content[0].value if e.get("content") else e.summary,
        )
        for e in parsed.entries
    ]


def render_all(engine, settings: Settings, key: FeedKey = ALL) -> dict[str, bytes]:
    context = load_context(settings)
    with engine.connect() as conn:
        feed = load_feed(conn, key, context)
    return {fmt: render_feed(feed, fmt) for fmt in FORMATS}


GUIDS: dict[int, str] = {}  # filled by seed(): each resource's feed id


def guid(resource_id: int) -> str:
    """A resource's feed id: its canonical URL (issue 15: the base URL and the database id do not enter it)."""
    return GUIDS[resource_id]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_approved_resource_parses_back(engine, settings, fmt):
    ids = seed(engine)
    parsed = parse_back(render_all(engine, settings)[fmt], fmt)
    by_id = {e.id: e for e in parsed}
    assert set(by_id) == {guid(ids[t]) for t in APPROVED}
    assert parsed[0].id == guid(ids["hostile"])  # newest decision first
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(resources).where(resources.c.status == "approved"))}
    for resource_id, row in rows.items():
        entry = by_id[guid(resource_id)]
        assert entry.link == row.url
        assert entry.published == (row.published_at or row.decided_at).replace(microsecond=0)
        if row.title != HOSTILE_TITLE:
            assert entry.title == row.title
    assert "Also listed on: NHS England" in by_id[guid(ids["Kindness toolkit"])].html
    event = by_id[guid(ids["December conversation"])]
    assert "Friday 4 December 2026, 14:00 to 15:00 (Europe/London)" in event.html
    assert "Rejected one" not in {e.title for e in parsed}


def test_rss_follows_the_validators_rules(engine, settings):
    ids = seed(engine)
    root = etree.fromstring(render_all(engine, settings)["rss"])
    channel = root.find("channel")
    atom = "{http://www.w3.org/2005/Atom}link"
    assert root.get("version") == "2.0"
    assert channel.find(atom).get("rel") == "self" and channel.find(atom).get("href") == f"{BASE}/feeds/all.rss"
    assert channel.findtext("link") == f"{BASE}/"
    assert channel.findtext("language") == "en-GB"
    assert parsedate_to_datetime(channel.findtext("lastBuildDate")).tzinfo is not None
    guids = [g for g in channel.iter("guid")]
    assert len({g.text for g in guids}) == len(guids) == len(APPROVED)
    assert all(g.get("isPermaLink") == "false" for g in guids)
    for item in channel.iter("item"):
        assert item.findtext("link").startswith("https://")
        assert parsedate_to_datetime(item.findtext("pubDate")).utcoffset() == timedelta(0)
    assert "Kindness" in {c.text for c in channel.iter("category")}
    toolkit = next(i for i in channel.iter("item") if i.findtext("guid") == guid(ids["Kindness toolkit"]))
    assert toolkit.findtext("link") == "https://pslhub.example/a"


def test_atom_follows_the_validators_rules(engine, settings):
    seed(engine)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    root = etree.fromstring(render_all(engine, settings)["atom"])
    assert root.xpath("a:link[@rel='self']/@href", namespaces=ns) == [f"{BASE}/feeds/all.atom"]
    assert root.xpath("a:link[@rel='alternate']/@href", namespaces=ns) == [f"{BASE}/"]
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") in (None, "en-GB")
    assert RFC3339.match(root.findtext("a:updated", namespaces=ns))
    ids = root.xpath("a:entry/a:id/text()", namespaces=ns)
    assert len(set(ids)) == len(ids) == len(APPROVED)
    for stamp in root.xpath("a:entry/a:updated/text() | a:entry/a:published/text()", namespaces=ns):
        assert RFC3339.match(stamp), stamp
    assert root.xpath("a:author/a:name/text()", namespaces=ns)  # every entry has an author through the feed's


def test_json_feed_has_the_specs_required_fields(engine, settings):
    ids = seed(engine)
    document = json.loads(render_all(engine, settings)["json"])
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(document["title"], str) and document["title"]
    assert document["feed_url"] == f"{BASE}/feeds/all.json"
    assert document["home_page_url"] == f"{BASE}/"
    assert document["language"] == "en-GB"
    assert isinstance(document["items"], list) and len(document["items"]) == len(APPROVED)
    for item in document["items"]:
        assert isinstance(item["id"], str) and item["id"]
        assert item.get("content_html") or item.get("content_text")
        assert RFC3339.match(item["date_published"]) and RFC3339.match(item["date_modified"])
        assert item["url"].startswith("https://")
        assert all(isinstance(a["name"], str) for a in item.get("authors", []))
    event = next(i for i in document["items"] if i["id"] == guid(ids["December conversation"]))
    assert event["_event"]["start"] == "2026-12-04T14:00:00Z"
    assert event["_event"]["registration_url"] == "https://pslhub.example/c/register"


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_text_ends_up_inert(engine, settings, fmt):
    ids = seed(engine)
    data = render_all(engine, settings)[fmt]
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", data)
    if fmt == "json":
        item = next(i for i in json.loads(data)["items"] if i["id"] == guid(ids["hostile"]))
        title, html = item["title"], item["content_html"]
    else:
        root = etree.fromstring(data)
        entry = next(
            e
            for e in root.iter("item", "{http://www.w3.org/2005/Atom}entry")
            if guid(ids["hostile"]) in etree.tostring(e, encoding=str)
        )
        title = entry.findtext("title") or entry.findtext("{http://www.w3.org/2005/Atom}title")
        html = entry.findtext("description") or entry.findtext("{http://www.w3.org/2005/Atom}content")
    # The title is plain text: markup stays literal characters, which every format escapes.
    assert title == "<script>alert(1)</script> ]]> Bell & <b>bold</b>"
    for bad in ("<script", "javascript:", "onerror", "onclick", "<iframe", "steal()"):
        assert bad not in html.lower()
    assert "<a>this</a>" in html or ">this</a>" in html  # the link text survives, the link does not
    assert len(parse_back(data, fmt)) == len(APPROVED)


def test_theme_and_audience_feeds_hold_exactly_their_resources(engine, settings):
    ids = seed(engine)
    context = load_context(settings)
    approved = {ids[t] for t in APPROVED}
    with engine.connect() as conn:
        labelled = conn.execute(select(labels.c.resource_id, labels.c.kind, labels.c.label_id)).all()
        for key in context.keys()[1:]:
            expected = {r.resource_id for r in labelled if (r.kind, r.label_id) == (key.kind, key.label_id)}
            feed = load_feed(conn, key, context)
            assert {e.guid for e in feed.entries} == {guid(i) for i in expected & approved}, key
            assert feed.self_url("rss") == f"{BASE}/feeds/{key.kind}/{key.label_id}.rss"
    with engine.connect() as conn:
        kindness = load_feed(conn, FeedKey("theme", "kindness"), context)
    assert {e.title for e in kindness.entries} == {"Kindness toolkit", "Leadership guide"}
    assert "Kindness" in kindness.title


def test_the_cap_keeps_the_newest_decisions(engine, settings):
    ids = seed(engine)
    context = replace(load_context(settings), limit=2)
    with engine.connect() as conn:
        capped = load_feed(conn, ALL, context)
    assert [e.guid for e in capped.entries] == [guid(ids["hostile"]), guid(ids["December conversation"])]


def test_feeds_build_writes_every_feed_atomically(engine, settings, tmp_path):
    seed(engine)
    out = tmp_path / "site"
    report = build_feeds(engine, settings, NOW, output=out)
    context = load_context(settings)
    assert report.feeds == len(context.keys()) and report.entries == len(APPROVED)
    for stem in ("all", "theme/kindness", "audience/leaders"):
        for ext in FORMATS:
            assert (out / f"{stem}.{ext}").is_file()
    assert not list(out.rglob("*.tmp"))
    assert (out / "all.rss").read_bytes() == render_all(engine, settings)["rss"]
    index = (out / "index.html").read_text()
    assert f'href="{BASE}/feeds/theme/kindness.atom"' in index and 'lang="en-GB"' in index
    opml = etree.fromstring((out / "index.opml").read_bytes())
    assert len(opml.findall(".//outline")) == report.feeds
    again = build_feeds(engine, settings, NOW + timedelta(hours=1), output=out)
    assert again.written == 0 and again.unchanged == report.written + report.unchanged
    default = build_feeds(engine, settings, NOW)
    assert default.output_dir == settings.feeds_dir and (settings.feeds_dir / "all.json").is_file()


def test_a_title_holding_markup_as_text_is_plain_text_in_every_feed(engine, settings):
    store(
        engine,
        HUB,
        [RawEntry(url="https://pslhub.example/x", title='<img src=x onerror="alert(1)">Kind words', published=NOW)],
    )
    with engine.begin() as conn:
        rid = conn.execute(select(resources.c.id).where(resources.c.url == "https://pslhub.example/x")).scalar_one()
        change_resource_status(conn, rid, "approved", user_id=None, now=NOW)
    for fmt, data in render_all(engine, settings).items():
        text = data.decode()
        assert "onerror" not in text and "img src" not in text, fmt
        assert [e.title for e in parse_back(data, fmt)] == ["Kind words"], fmt


def test_feed_ids_survive_a_new_base_url_and_a_rebuilt_database(engine, settings, tmp_path, database_url):
    """issue 15: ids came from the base URL's host and the database id, so moving the site (or rebuilding
    the database) made every reader show every item again."""
    seed(engine)
    before = {e.id for e in parse_back(render_all(engine, settings)["atom"], "atom")}
    moved = settings.model_copy(update={"base_url": "https://kindness.example.net"})
    assert {e.id for e in parse_back(render_all(engine, moved)["atom"], "atom")} == before
    with engine.connect() as conn:  # the resource's own key, so a rebuilt database (new ids) gives the same
        canonical = set(
            conn.execute(select(resources.c.canonical_url).where(resources.c.status == "approved")).scalars()
        )
    assert before == canonical and "https://pslhub.example/a" in before


def test_a_stored_feed_id_is_kept(engine, settings):
    ids = seed(engine)
    with engine.begin() as conn:
        conn.execute(
            update(resources)
            .where(resources.c.id == ids["Leadership guide"])
            .values(feed_guid="tag:digest.example.org,2026:resource/2")
        )
    found = {e.title: e.id for e in parse_back(render_all(engine, settings)["rss"], "rss")}
    assert found["Leadership guide"] == "tag:digest.example.org,2026:resource/2"
