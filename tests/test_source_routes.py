"""Adding a site by its URL and re-checking a source's route, on every partner-site fixture host."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.cli import app
from aggregator.config.sources import SourceConfig, load_sources
from aggregator.ingest.adapters.platform import detect_platform, propose_selectors
from aggregator.ingest.fetch import Fetcher, guarded_transport
from aggregator.ingest.routes import append_source, discover_routes, doctor_source
from aggregator.jobs.demo import FixtureSites, RewritingTransport, sites_root
from aggregator.settings import FetchLimits, Settings

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

PLAIN_PAGE = b"""<!DOCTYPE html><html><head><title>Compassion news</title>%s</head><body>
<nav><ul><li><a href="/a">A</a></li><li><a href="/b">B</a></li><li><a href="/c">C</a></li></ul></nav>
<div id="news"><div class="item"><h3><a href="/n/1">First story</a></h3><time datetime="2026-01-05">5 Jan</time>
<p class="teaser">One.</p></div><div class="item"><h3><a href="/n/2">Second story</a></h3>
<time datetime="2026-02-05">5 Feb</time><p class="teaser">Two.</p></div><div class="item"><h3><a href="/n/3">Third story</a></h3>
<time datetime="2026-03-05">5 Mar</time><p class="teaser">Three.</p></div></div></body></html>"""
PLAIN_FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>News</title><link>https://plain.example/</link>
<item><title>First story</title><link>https://plain.example/n/1</link><pubDate>Mon, 05 Jan 2026 09:00:00 +0000</pubDate></item>
</channel></rss>"""


def fixture_fetcher(sites: FixtureSites) -> Fetcher:
    settings = Settings(allow_private_addresses=True, fetch=FetchLimits(per_host_delay=0))
    return Fetcher(settings, transport=RewritingTransport(guarded_transport(settings), sites.origin))


@pytest.fixture(scope="module")
def fetcher() -> Iterator[Fetcher]:
    with FixtureSites(sites_root()) as sites, fixture_fetcher(sites) as http:
        yield http


@pytest.fixture
def plain_site(tmp_path: Path) -> Path:
    """A fixture tree with one plain host (no platform): /news/ with, /old/ without a feed link."""
    site = tmp_path / "plain.example"
    site.mkdir()
    link = b'<link rel="alternate" type="application/rss+xml" href="/feed.xml">'
    (site / "with.html").write_bytes(PLAIN_PAGE % link)
    (site / "without.html").write_bytes(PLAIN_PAGE % b"")
    (site / "feed.xml").write_bytes(PLAIN_FEED)
    (site / "routes.yaml").write_text(
        "routes:\n"
        "  - {path: /news/, file: with.html}\n"
        "  - {path: /old/, file: without.html}\n"
        "  - {path: /feed.xml, file: feed.xml, content_type: application/rss+xml}\n",
        encoding="utf-8",
    )
    return tmp_path


# --- which platform and which route, on each fixture host -------------------------------------


@pytest.mark.parametrize(
    "url, platform, kind, adapter, route_url",
    [
        (
            "https://yqsr.org/category/previous-seminars/",
            "wordpress",
            "api",
            "wordpress",
            "https://yqsr.org/wp-json/wp/v2/posts",
        ),
        (
            "https://kindnessinhealthcare.world/index.php/monthly-conversations/",
            "wordpress",
            "site-feed",
            "feed",
            "https://kindnessinhealthcare.world/index.php/feed/",
        ),
        (
            "https://www.england.nhs.uk/culture/inspiration/",
            "wordpress",
            "metadata",
            "metadata",
            "https://www.england.nhs.uk/culture/inspiration/",
        ),
        (
            "https://engage.dhsc.gov.uk/francisresponse/compassion-and-care/",
            "wordpress",
            "metadata",
            "metadata",
            "https://engage.dhsc.gov.uk/francisresponse/compassion-and-care/",
        ),
        (
            "https://www.pslhub.org/learn/culture/good-practice/",
            "invision",
            "category-feed",
            "feed",
            "https://www.pslhub.org/rss/3-good-practice.xml/",
        ),
        ("http://eprints.lse.ac.uk/114349/", "eprints", "api", "oai-pmh", "http://eprints.lse.ac.uk/cgi/oai2"),
        (
            "https://www.gov.uk/government/publications/the-nhs-constitution-for-england",
            "govuk",
            "api",
            "govuk",
            "https://www.gov.uk/api/content/government/publications/the-nhs-constitution-for-england",
        ),
    ],
)
def test_add_picks_the_platform_and_its_richest_working_route(fetcher, url, platform, kind, adapter, route_url):
    detection, samples = discover_routes(url, fetcher)
    assert detection.platform == platform
    assert [s.route.rank for s in samples] == sorted(s.route.rank for s in samples)
    best = next(s for s in samples if s.error is None and s.count)
    assert (best.route.kind, best.route.adapter, best.route.url) == (kind, adapter, route_url)
    assert best.entries and all(e.title for e in best.entries)


def test_wordpress_category_page_offers_api_category_feed_site_feed_and_selectors(fetcher):
    detection, samples = discover_routes("https://yqsr.org/category/previous-seminars/", fetcher)
    assert [(s.route.kind, s.count) for s in samples] == [
        ("api", 8),
        ("category-feed", 8),
        ("site-feed", 10),
        ("selectors", 8),
    ]
    assert samples[0].route.options == {"wordpress": {"category": "previous-seminars"}}


def test_invision_listing_proposes_the_list_rows_as_selectors(fetcher):
    _, samples = discover_routes("https://www.pslhub.org/learn/culture/good-practice/", fetcher)
    selectors = next(s for s in samples if s.route.kind == "selectors")
    assert selectors.route.options["selectors"]["container"] == "ol.ipsDataList > li.ipsDataItem"
    assert selectors.count == 9 and selectors.entries[0].title == "Compassion circles on a surgical ward: a case study"


def test_unreachable_route_is_listed_with_its_error(fetcher):
    _, samples = discover_routes("https://www.england.nhs.uk/culture/inspiration/", fetcher)
    feed = next(s for s in samples if s.route.url == "https://www.england.nhs.uk/feed/")
    assert feed.error and "404" in feed.error and feed.count == 0


def test_plain_page_with_a_feed_link_and_proposed_selectors(plain_site):
    with FixtureSites(plain_site) as sites, fixture_fetcher(sites) as http:
        detection, samples = discover_routes("https://plain.example/news/", http)
        assert detection.platform == "plain"
        assert [(s.route.kind, s.route.url) for s in samples] == [
            ("site-feed", "https://plain.example/feed.xml"),
            ("selectors", "https://plain.example/news/"),
        ]
        _, without = discover_routes("https://plain.example/old/", http)
    (selectors,) = without
    assert selectors.route.options["selectors"] == {
        "container": "div#news > div.item",
        "title": "h3 a",
        "link": "h3 a @href",
        "date": "time @datetime",
        "summary": "p.teaser",
    }
    assert [e.title for e in selectors.entries] == ["First story", "Second story", "Third story"]
    assert selectors.entries[0].url == "https://plain.example/n/1"


def test_propose_selectors_ignores_navigation_and_needs_three_rows():
    assert (
        propose_selectors(
            b"<html><body><nav><a href='/a'>a</a><a href='/b'>b</a><a href='/c'>c</a></nav>"
            b"<div><p><a href='/x'>x</a></p><p><a href='/y'>y</a></p></div></body></html>"
        )
        is None
    )


def test_detect_platform_on_a_page_that_is_not_html():
    detection = detect_platform(b"%PDF-1.7", "https://plain.example/file.pdf")
    assert detection.platform == "plain" and detection.routes == ()


# --- writing sources.yaml -------------------------------------------------------------------------


def test_cli_add_writes_the_chosen_route_keeping_comments(tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    shutil.copy(ROOT / "sources.yaml", sources)
    before = sources.read_text(encoding="utf-8")
    monkeypatch.setenv("AGGREGATOR_SOURCES_FILE", str(sources))
    result = runner.invoke(
        app,
        [
            "sources",
            "add",
            "https://yqsr.org/category/previous-seminars/",
            "--fixtures",
            "--route",
            "1",
            "--id",
            "yqsr-seminars-added",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "wordpress" in result.output and "added yqsr-seminars-added" in result.output
    after = sources.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n").split("\nsources:")[0])  # header comments untouched
    assert after.count("#") == before.count("#")  # every comment kept
    added = load_sources(sources).get("yqsr-seminars-added")
    assert added.adapter == "wordpress" and added.wordpress.category == "previous-seminars"
    assert added.url == "https://yqsr.org/wp-json/wp/v2/posts"


def test_cli_add_asks_and_offers_the_richest_working_route(tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    shutil.copy(ROOT / "sources.yaml", sources)
    monkeypatch.setenv("AGGREGATOR_SOURCES_FILE", str(sources))
    result = runner.invoke(
        app,
        ["sources", "add", "https://engage.dhsc.gov.uk/francisresponse/", "--fixtures"],
        input="\n",
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "proposed selectors: container: ul.theme-list > li.theme-item" in result.output
    added = load_sources(sources).sources[-1]
    assert (added.id, added.adapter) == ("engage-francisresponse", "metadata")  # the feed is 404: next best


def test_append_source_refuses_a_duplicate_id_and_an_invalid_entry(tmp_path):
    from aggregator.errors import ConfigError

    sources = tmp_path / "sources.yaml"
    shutil.copy(ROOT / "sources.yaml", sources)
    with pytest.raises(ConfigError, match="already"):
        append_source(sources, {"id": "yqsr-news", "name": "x", "url": "https://yqsr.org/feed/", "adapter": "feed"})
    with pytest.raises(ConfigError):
        append_source(sources, {"id": "bad", "name": "x", "url": "https://yqsr.org/", "adapter": "page"})
    assert sources.read_text(encoding="utf-8") == (ROOT / "sources.yaml").read_text(encoding="utf-8")


# --- doctor -----------------------------------------------------------------------------------------


def config(**fields) -> SourceConfig:
    return SourceConfig(**{"id": "checked", "name": "Checked", **fields})


def test_doctor_reports_a_richer_route(fetcher):
    page = config(
        url="https://yqsr.org/category/previous-seminars/",
        adapter="page",
        selectors={"container": "article.post", "title": "h2.entry-title"},
    )
    (finding,) = doctor_source(page, fetcher)
    assert "richer route appeared: api" in finding.problem
    assert "adapter: wordpress" in finding.fix and "category: previous-seminars" in finding.fix


def test_doctor_reports_selectors_that_stopped_matching_with_new_ones(fetcher):
    page = config(
        url="https://engage.dhsc.gov.uk/francisresponse/",
        adapter="page",
        selectors={"container": "div.old-layout .card", "title": "h3"},
    )
    (finding,) = doctor_source(page, fetcher)
    assert "selectors stopped matching" in finding.problem
    assert "container: ul.theme-list > li.theme-item" in finding.fix


def test_doctor_reports_a_moved_feed(fetcher):
    moved = config(
        url="https://kindnessinhealthcare.world/feed/", adapter="feed", homepage="https://kindnessinhealthcare.world/"
    )
    (finding,) = doctor_source(moved, fetcher)
    assert "the feed moved" in finding.problem and "404" in finding.problem
    assert (
        finding.fix
        == "set `url: https://kindnessinhealthcare.world/index.php/feed/` (the address the site now announces)"
    )


def test_doctor_finds_nothing_to_fix_in_sources_yaml(fetcher):
    sources = load_sources(ROOT / "sources.yaml").sources
    for source in sources:
        assert doctor_source(source, fetcher, others=[s for s in sources if s.id != source.id]) == [], source.id


def test_cli_doctor_one_source(monkeypatch):
    monkeypatch.setenv("AGGREGATOR_SOURCES_FILE", str(ROOT / "sources.yaml"))
    result = runner.invoke(app, ["sources", "doctor", "yqsr-previous-seminars", "--fixtures"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "yqsr-previous-seminars: its route is the richest that works" in result.output
