"""The partner-site fixtures: sources.yaml, the fixture server, and each site through its adapter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from aggregator.config.sources import SourceConfig, SourcesFile, load_sources
from aggregator.jobs.demo import FixtureSites, RewritingTransport, load_sites, normalise_query, rewrite_url, sites_root

ROOT = Path(__file__).resolve().parents[1]
SOURCES_FILE = ROOT / "sources.yaml"
SITES = ROOT / "tests" / "sites"
EXPECTED_CONTENT_TYPES = {
    "feed": ("application/rss+xml", "application/atom+xml", "text/xml", "application/xml"),
    "page": ("text/html",),
    "metadata": ("text/html",),
    "govuk": ("application/json",),
    "oai-pmh": ("text/xml", "application/xml"),
    "wordpress": ("application/json",),
}
SHARED_DOI = "10.5555/kih.2026.0117"


def _sources() -> SourcesFile:
    return load_sources(SOURCES_FILE)


SOURCES = _sources().sources


@pytest.fixture(scope="module")
def sites() -> Iterator[FixtureSites]:
    with FixtureSites(sites_root()) as running:
        yield running


@pytest.fixture(scope="module")
def client(sites: FixtureSites) -> Iterator[httpx.Client]:
    with httpx.Client(
        transport=RewritingTransport(inner=httpx.HTTPTransport(), origin=sites.origin),
        follow_redirects=False,
        trust_env=False,
    ) as http:
        yield http


def site_file(url: str) -> bytes:
    """The fixture body a real URL is answered with, read through routes.yaml without the server."""
    request = httpx.URL(url)
    site = load_sites(SITES)[request.host]
    route = site.find_route(request.path, normalise_query(request.query.decode()))
    assert route is not None and route.file is not None, f"no fixture for {url}"
    return route.file.read_bytes()


def oai_first_page_url(source: SourceConfig) -> str:
    assert source.oai is not None
    query = {"verb": "ListRecords", "metadataPrefix": source.oai.metadata_prefix}
    if source.oai.set:
        query["set"] = source.oai.set
    return f"{source.url}?{urlencode(query)}"


def source_by_id(source_id: str) -> SourceConfig:
    return _sources().get(source_id)


# --- sources.yaml ------------------------------------------------------------------------------


def test_sources_yaml_validates_with_every_adapter() -> None:
    sources = _sources()
    assert {s.adapter for s in sources.sources} == {"feed", "page", "govuk", "oai-pmh", "metadata", "wordpress"}
    assert all(s.enabled for s in sources.sources)
    assert len({s.id for s in sources.sources}) == len(sources.sources)


def test_sources_yaml_hints_use_the_shared_vocabulary() -> None:
    text = SOURCES_FILE.read_text(encoding="utf-8")
    audiences = set(re.search(r"audiences: (.+)", text).group(1).split(", "))  # the vocabulary comment
    themes = set(re.search(r"themes: +(.+)", text).group(1).rstrip(",").split(", "))
    themes |= set(re.search(r"themes: .+,\n#\s+(.+)", text).group(1).split(", "))
    for source in SOURCES:
        assert set(source.hints.audiences) <= audiences, source.id
        assert set(source.hints.themes) <= themes, source.id


def test_page_sources_have_selectors_and_govuk_and_oai_their_options() -> None:
    for source in SOURCES:
        if source.adapter == "page":
            assert source.selectors is not None
        if source.adapter == "govuk":
            assert source.govuk is not None and source.govuk.paths
        if source.adapter == "oai-pmh":
            assert source.oai is not None and source.oai.set


# --- the fixture tree ------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", sorted(p.name for p in SITES.iterdir() if p.is_dir()))
def test_every_site_folder_has_readme_routes_and_robots(folder: str) -> None:
    site_dir = SITES / folder
    assert (site_dir / "README.md").read_text(encoding="utf-8").startswith(f"# {folder}")
    routes = yaml.safe_load((site_dir / "routes.yaml").read_text(encoding="utf-8"))["routes"]
    assert any(r["path"] == "/robots.txt" for r in routes)
    load_sites(SITES)  # every route's file exists inside its folder


def test_every_source_host_has_a_site_folder() -> None:
    hosts = {httpx.URL(s.url).host for s in SOURCES}
    assert hosts <= {p.name for p in SITES.iterdir() if p.is_dir()}


# --- the server, through the rewriting transport --------------------------------------------------


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.id)
def test_every_source_url_is_served_with_its_content_type(client: httpx.Client, source: SourceConfig) -> None:
    url = oai_first_page_url(source) if source.adapter == "oai-pmh" else source.url
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.headers["content-type"].startswith(EXPECTED_CONTENT_TYPES[source.adapter]), url
    assert response.content.strip()
    assert str(response.url) == url  # the caller still sees the partner's real address


@pytest.mark.parametrize("path", [p for s in SOURCES if s.govuk for p in s.govuk.paths])
def test_every_govuk_path_is_in_the_content_api(client: httpx.Client, path: str) -> None:
    response = client.get(f"https://www.gov.uk/api/content{path}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["base_path"] == path


def test_oai_resumption_token_reaches_the_second_page(client: httpx.Client) -> None:
    source = source_by_id("lse-research-online")
    first = client.get(oai_first_page_url(source))
    token = re.search(rb"<resumptionToken[^>]*>([^<]+)</resumptionToken>", first.content).group(1).decode()
    second = client.get(source.url, params={"verb": "ListRecords", "resumptionToken": token})
    assert second.status_code == 200
    assert b"<ListRecords>" in second.content and b'cursor="5"/>' in second.content


def test_oai_other_queries_find_no_records(client: httpx.Client) -> None:
    source = source_by_id("lse-research-online")
    response = client.get(
        source.url,
        params={
            "verb": "ListRecords",
            "metadataPrefix": "oai_dc",
            "set": source.oai.set,
            "from": "2026-11-21T00:00:00Z",
        },
    )
    assert b'code="noRecordsMatch"' in response.content


@pytest.mark.parametrize(
    "url",
    [
        "https://www.pslhub.org/rss/3-good-practice.xml/",
        "https://kindnessinhealthcare.world/index.php/feed/",
        "https://www.gov.uk/api/content/government/collections/compassion-and-care",
    ],
)
def test_if_none_match_gets_304_without_a_body(client: httpx.Client, url: str) -> None:
    first = client.get(url)
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_if_modified_since_gets_304(client: httpx.Client) -> None:
    url = "https://www.england.nhs.uk/culture/inspiration/"
    last_modified = client.get(url).headers["last-modified"]
    assert client.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2018 00:00:00 GMT"}).status_code == 200


def test_unknown_paths_and_hosts_are_404(client: httpx.Client) -> None:
    assert client.get("https://www.gov.uk/no/such/page").status_code == 404
    assert client.get("https://unknown.example.org/").status_code == 404


def test_redirects_and_gone_are_served_as_routed(client: httpx.Client) -> None:
    moved = client.get("https://yqsr.org/category/previous-seminars")
    assert moved.status_code == 301
    assert moved.headers["location"] == "https://yqsr.org/category/previous-seminars/"
    followed = client.get("https://yqsr.org/category/previous-seminars", follow_redirects=True)
    assert followed.status_code == 200 and str(followed.url).endswith("/previous-seminars/")
    uri = client.get("http://eprints.lse.ac.uk/id/eprint/114349", follow_redirects=True)
    assert str(uri.url) == "http://eprints.lse.ac.uk/114349/" and b"compassion circles" in uri.content
    assert (
        client.get(
            "https://www.gov.uk/api/content/government/publications/compassion-in-practice-withdrawn"
        ).status_code
        == 410
    )


def test_head_gets_headers_only(client: httpx.Client) -> None:
    response = client.head("https://www.gov.uk/government/organisations/department-of-health-and-social-care.atom")
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) > 0


def test_rewrite_keeps_path_query_and_leaves_the_origin_alone(sites: FixtureSites) -> None:
    url = httpx.URL("https://eprints.lse.ac.uk/cgi/oai2?verb=ListRecords&resumptionToken=a%253Db")
    assert (
        rewrite_url(url, sites.origin)
        == f"{sites.origin}/eprints.lse.ac.uk/cgi/oai2?verb=ListRecords&resumptionToken=a%253Db"
    )
    local = httpx.URL(f"{sites.origin}/www.gov.uk/robots.txt")
    assert rewrite_url(local, sites.origin) == str(local)
    assert sites.url_for("https://www.gov.uk/robots.txt") == str(local)


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.id)
def test_robots_txt_allows_our_paths(client: httpx.Client, source: SourceConfig) -> None:
    protego = pytest.importorskip("protego")
    from aggregator.settings import DEFAULT_USER_AGENT

    host = httpx.URL(source.url).host
    robots = client.get(f"https://{host}/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    parser = protego.Protego.parse(robots.text)
    urls = [oai_first_page_url(source) if source.adapter == "oai-pmh" else source.url]
    urls += [f"https://www.gov.uk/api/content{p}" for p in (source.govuk.paths if source.govuk else ())]
    for url in urls:
        assert parser.can_fetch(url, DEFAULT_USER_AGENT), url


def test_the_fetcher_reaches_every_source_through_the_fixtures(sites: FixtureSites) -> None:
    fetch = pytest.importorskip("aggregator.ingest.fetch")
    from aggregator.settings import FetchLimits, Settings

    settings = Settings(allow_private_addresses=True, fetch=FetchLimits(per_host_delay=0))
    transport = RewritingTransport(inner=fetch.guarded_transport(settings), origin=sites.origin)
    with fetch.Fetcher(settings, transport=transport) as fetcher:
        for source in SOURCES:
            if source.adapter == "wordpress":
                continue  # its first request is the category lookup, below
            url = oai_first_page_url(source) if source.adapter == "oai-pmh" else source.url
            fetched = fetcher.fetch(url)
            assert fetched.status == 200 and fetched.body, source.id
            if fetched.etag:
                assert fetcher.fetch(url, etag=fetched.etag).not_modified, source.id


# --- each site through its adapter ------------------------------------------------------------------


def test_kindness_in_healthcare_feed() -> None:
    feed = pytest.importorskip("aggregator.ingest.adapters.feed")
    source = source_by_id("kindness-in-healthcare")
    entries = feed.parse_feed(site_file(source.url), source.url, content_type="application/rss+xml")
    assert len(entries) == 10
    conversations = [e for e in entries if e.title.startswith("Conversation for kindness:")]
    assert len(conversations) == 7
    first = entries[0]
    assert first.title.startswith("Join us: Conversation for kindness, Thursday 17 December 2026")
    assert (
        first.url
        == "https://kindnessinhealthcare.world/index.php/2026/11/join-us-conversation-for-kindness-december-2026/"
    )
    assert first.authors == ("Helen Marsh",)
    assert {"Conversation for kindness", "Events"} <= set(first.tags)
    assert "eventbrite.co.uk" in (first.content_html or "")
    assert first.published.isoformat() == "2026-11-10T09:15:00+00:00"
    assert first.guid == "https://kindnessinhealthcare.world/?p=2291"


@pytest.mark.parametrize(
    "source_id, count, first_title",
    [
        ("pslhub-good-practice-rss", 9, "Compassion circles on a surgical ward: a case study"),
        (
            "yqsr-previous-seminars-feed",
            8,
            "COMPASSION CIRCLES: EVALUATING A PEER-SUPPORT INTERVENTION FOR NURSES, Prof. Jonas Whitfield, "
            "University of Westmoor, 21 October 2026",
        ),
        ("govuk-dhsc-atom", 6, "New support for the wellbeing of health and care staff"),
    ],
)
def test_other_feeds(source_id: str, count: int, first_title: str) -> None:
    feed = pytest.importorskip("aggregator.ingest.adapters.feed")
    source = source_by_id(source_id)
    entries = feed.parse_feed(site_file(source.url), source.url)
    assert len(entries) == count
    assert entries[0].title == first_title
    assert all(e.url.startswith("https://") and (e.published or e.updated) for e in entries)


def test_wordpress_rest_api_posts_of_a_category() -> None:
    from aggregator.ingest.adapters.wordpress import category_lookup_url, parse_category_id, parse_wp_posts, posts_url

    source = source_by_id("yqsr-previous-seminars")
    lookup = category_lookup_url(source.url, "previous-seminars")
    assert lookup == "https://yqsr.org/wp-json/wp/v2/categories?slug=previous-seminars"
    category = parse_category_id(site_file(lookup), "previous-seminars", lookup)
    url = posts_url(source.url, category_id=category, max_entries=source.max_entries)
    posts = parse_wp_posts(site_file(url), url)
    assert len(posts) == 8
    west = next(p for p in posts if "Michael West" in p.title)
    assert west.title.startswith("THE KING’S FUND: COMPASSIONATE LEADERSHIP")
    assert west.authors == ("Lucy Chapman",) and west.tags == ("Previous Seminars",)
    assert west.guid == "https://yqsr.org/?p=1187"
    assert "Presentation slides available here" in west.content_html
    every_url = posts_url(source_by_id("yqsr-news").url, category_id=None, max_entries=200)
    every = parse_wp_posts(site_file(every_url), every_url)
    assert len(every) == 10 and every[0].title.startswith("Next seminar: trauma-informed compassion")
    assert every[0].tags == ("News",)


def test_pslhub_listing_page() -> None:
    page = pytest.importorskip("aggregator.ingest.adapters.page")
    source = source_by_id("pslhub-good-practice")
    entries = page.parse_page(site_file(source.url), source.url, source.selectors)
    assert len(entries) == 9
    toolkit = next(e for e in entries if e.title == "Kindness in healthcare: a toolkit for teams")
    assert toolkit.url == "https://www.pslhub.org/learn/culture/good-practice/kindness-in-healthcare-toolkit-r4521/"
    assert {"Health and care staff", "Patient safety leads", "United Kingdom", "Toolkit"} <= set(toolkit.tags)
    assert toolkit.published.isoformat() == "2026-01-21T09:00:00+00:00"
    assert toolkit.extra["author"] == "Hub team"
    record = entries[-1]
    assert record.title == "Kindness in healthcare website"
    assert set(record.tags) == {
        "UK",
        "Toolkits and collections",
        "Kindness in healthcare",
        "Health and care staff",
        "Patient safety leads",
    }


def test_dhsc_microsite_themes_page() -> None:
    page = pytest.importorskip("aggregator.ingest.adapters.page")
    source = source_by_id("dhsc-francis-themes")
    themes = page.parse_page(site_file(source.url), source.url, source.selectors)
    assert [t.title for t in themes] == [
        "Compassion and Care",
        "Values and standards",
        "Openness and transparency",
        "Leadership",
        "Information",
    ]
    assert themes[0].url == "https://engage.dhsc.gov.uk/francisresponse/compassion-and-care/"


def test_govuk_content_items() -> None:
    govuk = pytest.importorskip("aggregator.ingest.adapters.govuk")
    source = source_by_id("govuk-dhsc-publications")
    url = f"https://www.gov.uk/api/content{source.govuk.paths[0]}"
    (constitution,) = govuk.parse_content_item(site_file(url), url)
    assert constitution.title == "The NHS Constitution for England"
    assert constitution.url == "https://www.gov.uk/government/publications/the-nhs-constitution-for-england"
    assert constitution.authors == ("Department of Health and Social Care",)
    principles_url = (
        "https://www.gov.uk/api/content/government/publications/kindness-in-care-principles-for-health-and-care-staff"
    )
    principles = govuk.parse_content_item(site_file(principles_url), principles_url)[0]
    assert principles.title == "Kindness in care: principles for health and care staff"
    assert principles.guid == "0f6c2a4e-3b7d-4c1e-9a55-8d2e61b7c3f1"
    assert principles.extra["change_note"] == "Added an easy read version."
    assert principles.published.isoformat() == "2026-09-10T08:30:00+00:00"


def test_lse_oai_pmh_pages() -> None:
    oaipmh = pytest.importorskip("aggregator.ingest.adapters.oaipmh")
    source = source_by_id("lse-research-online")
    first = oaipmh.parse_list_records(site_file(oai_first_page_url(source)), source.url)
    assert len(first.entries) == 4
    assert first.deleted == ("oai:eprints.lse.ac.uk:119872",)
    assert first.complete_list_size == 8 and first.resumption_token
    circles = first.entries[0]
    assert circles.url == "http://eprints.lse.ac.uk/114349/" and circles.doi == "10.1108/jmhtep-03-2021-0030"
    retention = first.entries[1]
    assert retention.title.startswith("Compassionate leadership and staff retention in English NHS trusts")
    assert retention.doi == SHARED_DOI
    assert retention.url == "https://eprints.lse.ac.uk/124501/"
    second_url = f"{source.url}?{urlencode({'verb': 'ListRecords', 'resumptionToken': first.resumption_token})}"
    second = oaipmh.parse_list_records(site_file(second_url), source.url)
    assert len(second.entries) == 3 and not second.resumption_token


def test_metadata_pages() -> None:
    metadata = pytest.importorskip("aggregator.ingest.adapters.metadata")
    record_url = source_by_id("pslhub-kindness-record").url
    record = metadata.extract_metadata(site_file(record_url), record_url)
    assert record.title == "Kindness in healthcare website"
    assert {"UK", "Toolkits and collections", "Health and care staff", "Patient safety leads"} <= set(record.tags)
    assert record.published.isoformat() == "2021-06-17T10:43:00+00:00"
    eprint_url = "https://eprints.lse.ac.uk/124501/"
    eprint = metadata.extract_metadata(site_file(eprint_url), eprint_url)
    assert eprint.doi == SHARED_DOI
    assert eprint.authors == ("Okafor, Amara", "Lindqvist, Maja", "Bhatt, Rohan")
    assert eprint.pdf_url.startswith("https://eprints.lse.ac.uk/124501/1/")


# --- planted cross-posts, for the dedupe work -------------------------------------------------------


def test_planted_cross_posts_are_present() -> None:
    hub_research = site_file(
        "https://www.pslhub.org/learn/culture/good-practice/"
        "research-summary-compassionate-leadership-and-staff-retention-r4610/"
    )
    assert f"https://doi.org/{SHARED_DOI}".encode() in hub_research
    assert f"<dc:relation>https://doi.org/{SHARED_DOI}</dc:relation>".encode() in site_file(
        oai_first_page_url(source_by_id("lse-research-online"))
    )
    hub_rss = site_file("https://www.pslhub.org/rss/3-good-practice.xml/")
    for target in (
        b"https://www.england.nhs.uk/long-read/leading-with-compassion-a-practical-guide-for-teams/?utm_source=pslhub",
        b"https://www.gov.uk/government/publications/kindness-in-care-principles-for-health-and-care-staff?utm_source=pslhub",
        b"https://yqsr.org/psychological-safety-and-speaking-up-what-the-evidence-says-dr-amara-okafor-"
        b"london-school-of-economics-and-political-science-23-september-2026/?utm_source=pslhub",
        b"https://kindnessinhealthcare.world/index.php/2026/01/conversation-for-kindness-schwartz-rounds-in-practice/?utm_source=pslhub",
    ):
        assert target in hub_rss
