"""Hostile documents through every adapter: entity bombs, external entities, lying charsets, huge and deep input."""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable

import pytest

from aggregator.config.sources import PageSelectors, parse_sources
from aggregator.errors import ParseError
from aggregator.ingest.adapters.discover import discover_feeds
from aggregator.ingest.adapters.feed import parse_feed
from aggregator.ingest.adapters.govuk import parse_content_item
from aggregator.ingest.adapters.metadata import extract_metadata
from aggregator.ingest.adapters.oaipmh import parse_list_records
from aggregator.ingest.adapters.page import parse_page
from aggregator.ingest.harvest import HarvestRequest, harvest_source
from aggregator.ingest.normalize import normalize_entry
from tests.hostile.conftest import MB, assert_storable_text, feed_source, measured, outcome_of
from tests.support.fakes import FakeFetched, FakeFetcher
from tests.support.httpserver import LocalServer, http_server  # noqa: F401 - fixture

BASE = "https://partner.example.org/feed/"
OAI_BASE = "https://repository.example.ac.uk/cgi/oai2"
GOVUK = "https://www.gov.uk/api/content/government/publications/x"
SELECTORS = PageSelectors(container="article", title="h2", summary="article")
DC = 'xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"'
ITEM = "<item><title>{title}</title><link>https://partner.example.org/1</link><description>{text}</description></item>"


def rss(dtd: str, title: str, text: str, version: str = "2.0") -> bytes:
    return (
        f'<?xml version="1.0"?>{dtd}<rss version="{version}"><channel><title>c</title>'
        f"{ITEM.format(title=title, text=text)}</channel></rss>"
    ).encode()


def atom(dtd: str, title: str, text: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{dtd}<feed xmlns="http://www.w3.org/2005/Atom"><title>c</title><id>urn:c</id>'
        f'<entry><title>{title}</title><id>urn:1</id><link href="https://partner.example.org/1"/>'
        f"<summary>{text}</summary></entry></feed>"
    ).encode()


def rdf(dtd: str, title: str, text: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{dtd}<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="x"><title>c</title></channel>'
        f'<item rdf:about="https://partner.example.org/1"><title>{title}</title>'
        f"<link>https://partner.example.org/1</link><description>{text}</description></item></rdf:RDF>"
    ).encode()


def oai(dtd: str, title: str, text: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{dtd}<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        f"<record><header><identifier>oai:x:1</identifier></header><metadata><oai_dc:dc {DC}>"
        f"<dc:title>{title}</dc:title><dc:description>{text}</dc:description>"
        f"<dc:identifier>https://repository.example.ac.uk/1/</dc:identifier></oai_dc:dc></metadata></record>"
        f"</ListRecords></OAI-PMH>"
    ).encode()


def parse_any(kind: str, body: bytes) -> list:
    if kind == "oai":
        return list(parse_list_records(body, OAI_BASE).entries)
    return parse_feed(body, BASE)


XML_DOCUMENTS: dict[str, Callable[..., bytes]] = {
    "rss2": rss,
    "rss092": lambda d, t, x: rss(d, t, x, "0.92"),
    "atom": atom,
    "rdf": rdf,
    "oai": oai,
}
LAUGHS = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS = f'<!DOCTYPE r [<!ENTITY l0 "lol">{LAUGHS}]>'
QUADRATIC = '<!DOCTYPE r [<!ENTITY a "' + "x" * 60_000 + '">]>'
PARAMETER_LAUGHS = "<!DOCTYPE r [<!ENTITY % p0 \"<!ENTITY l0 'lol'>\"> %p0;" + LAUGHS + "]>"


@pytest.mark.parametrize("kind", list(XML_DOCUMENTS))
@pytest.mark.parametrize(
    ("attack", "dtd", "use"),
    [
        ("billion-laughs", BILLION_LAUGHS, "&l9;"),
        ("quadratic", QUADRATIC, "&a;" * 60_000),
        ("parameter-entities", PARAMETER_LAUGHS, "&l9;"),
    ],
)
def test_entity_declarations_are_refused_before_parsing(kind, attack, dtd, use) -> None:
    body = XML_DOCUMENTS[kind](dtd, use, use)
    with measured(trace=False) as usage:
        result = outcome_of(lambda: parse_any(kind, body), ParseError)
    assert isinstance(result, ParseError) and "declares an XML entity" in str(result), result
    # The refusal reads the prolog only: about a millisecond; the bound leaves room for a slow machine.
    assert usage.seconds < 0.25 and usage.peak_bytes < 20 * MB, usage


@pytest.mark.parametrize("kind", list(XML_DOCUMENTS))
@pytest.mark.parametrize("reference", ["system-entity", "parameter-entity", "external-dtd", "public-dtd", "xinclude"])
def test_external_entities_and_dtds_are_never_fetched(http_server, kind, reference) -> None:
    http_server.add("/x.dtd", body=b'<!ENTITY e "FETCHED">')
    http_server.add("/e", body=b"FETCHED")
    url = http_server.base_url
    dtd, use = {
        "system-entity": (f'<!DOCTYPE r [<!ENTITY e SYSTEM "{url}/e">]>', "&e;"),
        "parameter-entity": (f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{url}/x.dtd"> %p;]>', "&e;"),
        "external-dtd": (f'<!DOCTYPE r SYSTEM "{url}/x.dtd">', "&e;"),
        "public-dtd": (f'<!DOCTYPE r PUBLIC "-//Hostile//DTD X//EN" "{url}/x.dtd">', "&e;"),
        "xinclude": ("", f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{url}/e" parse="text"/>'),
    }[reference]
    result = outcome_of(lambda: parse_any(kind, XML_DOCUMENTS[kind](dtd, f"a{use}", f"b{use}")), ParseError)
    assert http_server.requests == []
    assert "FETCHED" not in repr(result)


def test_html_adapters_fetch_nothing_a_page_points_at(http_server) -> None:
    url = http_server.base_url
    page = (
        f'<!DOCTYPE html SYSTEM "{url}/x.dtd"><html><head><link rel="stylesheet" href="{url}/s.css">'
        f'<script src="{url}/a.js"></script><meta http-equiv="refresh" content="0;url={url}/r">'
        f'<link rel="alternate" type="application/rss+xml" href="{url}/feed"></head><body>'
        f'<article><h2><a href="/a">T</a></h2><iframe src="{url}/i"></iframe><img src="{url}/p.png">'
        f'<object data="{url}/o"></object></article></body></html>'
    ).encode()
    assert parse_page(page, BASE, SELECTORS)[0].title == "T"
    extract_metadata(page, BASE)
    assert discover_feeds(page, BASE) == [f"{url}/feed"]  # named, not fetched
    assert http_server.requests == []


# --- charsets and controls: whatever the bytes claim, valid UTF-8 is stored ----------------------------

TEXT = "Caf\u00e9 \u2014 kindness \U0001f49a"


def rss_text(declared: str | None, title: str, description: str) -> str:
    decl = f' encoding="{declared}"' if declared else ""
    return (
        f'<?xml version="1.0"{decl}?><rss version="2.0"><channel><title>c</title>'
        f"{ITEM.format(title=title, text=description)}</channel></rss>"
    )


CHARSET_CASES = {
    "utf8-bytes-declared-latin1": rss_text("iso-8859-1", TEXT, TEXT).encode(),
    "latin1-bytes-declared-utf8": rss_text("utf-8", "Caf\u00e9 na\u00efve", "x").encode("latin-1"),
    "cp1252-bytes-declared-utf8": rss_text("utf-8", "\u201csmart\u201d \u20ac", "x").encode("cp1252"),
    "utf16-bom-declared-utf8": codecs.BOM_UTF16_LE + rss_text("utf-8", TEXT, TEXT).encode("utf-16-le"),
    "utf8-bom-declared-utf16": codecs.BOM_UTF8 + rss_text("utf-16", TEXT, TEXT).encode(),
    "utf8-bom-declared-latin1": codecs.BOM_UTF8 + rss_text("iso-8859-1", TEXT, TEXT).encode(),
    "unknown-charset": rss_text("x-klingon-9", TEXT, TEXT).encode(),
    "unknown-charset-latin1-bytes": rss_text("x-klingon-9", "Caf\u00e9", "x").encode("latin-1"),
    "utf7-declared": rss_text(
        "utf-7", "+ADw-script+AD4-alert(1)+ADw-/script+AD4-", "+ADw-img src=x onerror=alert(1)+AD4-"
    ).encode(),
    "utf7-undeclared": rss_text(None, "+ADw-script+AD4-alert(1)", "+ADw-b+AD4-x").encode(),
    "invalid-utf8": rss_text("utf-8", "ok", "ok").encode().replace(b"ok", b"o\xff\xfe\xc3\x28k"),
    "raw-controls": rss_text("utf-8", "a\x01b\x02c\x7fd\x0be\x0cf", "<![CDATA[p\x00q\x1br\rs\x08]]>").encode(),
    "control-charrefs-in-title": rss_text("utf-8", "a&#1;b&#x1b;c&#127;d", "x").encode(),
    "rss092-controls": rss_text("utf-8", "a\x01b", "<![CDATA[<p>p\x1bq</p>]]>").replace("2.0", "0.92").encode(),
    "json-utf8": json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [
                {"url": "https://partner.example.org/1", "title": "a\u0001b " + TEXT, "content_html": "<p>x\u001by</p>"}
            ],
        }
    ).encode(),
}


@pytest.mark.parametrize("name", list(CHARSET_CASES))
def test_any_declared_charset_gives_valid_utf8_without_controls(name) -> None:
    result = outcome_of(lambda: parse_feed(CHARSET_CASES[name], BASE), ParseError)
    for entry in result if isinstance(result, list) else ():
        resource = normalize_entry(entry, feed_source())
        assert_storable_text(resource)
        assert "<script" not in resource.summary_html.lower() and "onerror" not in resource.summary_html


def test_control_character_references_in_a_summary_are_not_stored() -> None:
    (entry,) = parse_feed(rss_text("utf-8", "t", "&lt;p&gt;x&amp;#1;y&amp;#x1b;z&lt;/p&gt;").encode(), BASE)
    assert_storable_text(normalize_entry(entry, feed_source()))


def test_json_feed_lone_surrogates_give_entries_or_parse_error() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "https://partner.example.org/1", '
        b'"title": "a\\ud800b", "content_html": "<p>x\\udfffy</p>", "tags": ["t\\ud800"]}]}'
    )
    result = outcome_of(lambda: parse_feed(body, BASE), ParseError)
    for entry in result if isinstance(result, list) else ():
        assert_storable_text(normalize_entry(entry, feed_source()))


def test_govuk_lone_surrogates_are_removed() -> None:
    body = (
        b'{"base_path": "/x", "title": "t\\ud800itle", "description": "d\\udfffesc", '
        b'"details": {"body": "<p>b\\ud800ody</p>"}}'
    )
    (entry,) = parse_content_item(body, GOVUK)
    assert_storable_text(normalize_entry(entry, feed_source()))


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf<html><head><meta charset='utf-16'></head><body><article><h2><a href='/a'>Caf\xc3\xa9</a></h2></article></body></html>",
        b"<html><head><meta charset='x-unknown'></head><body><article><h2><a href='/a'>Caf\xe9 \x01</a></h2></article></body></html>",
        b"<html><head><meta charset='utf-7'></head><body><article><h2><a href='/a'>+ADw-script+AD4-</a></h2></article></body></html>",
        codecs.BOM_UTF16_LE
        + "<html><head><meta charset='utf-8'></head><body><article><h2><a href='/a'>Caf\u00e9</a></h2></article></body></html>".encode(
            "utf-16-le"
        ),
        b"<html><body><article><h2><a href='/a'>t&#1;&#0;&#xD800;x</a></h2><p>s&#x1b;</p></article></body></html>",
    ],
)
def test_html_pages_with_lying_charsets_give_valid_utf8(body: bytes) -> None:
    for entry in parse_page(body, BASE, SELECTORS):
        assert_storable_text(normalize_entry(entry, feed_source()))
    meta = extract_metadata(body, BASE)
    for value in (meta.title or "", meta.description or ""):
        value.encode("utf-8")


# --- 100k entries and 10k-deep nesting -------------------------------------------------------------

DEEP = 10_000


def _entries(n: int, fmt: str) -> str:
    return "".join(fmt.format(i=i) for i in range(n))


@pytest.mark.parametrize("kind", ["rss2", "atom", "json"])
def test_twenty_thousand_feed_entries_are_capped(kind) -> None:
    # feedparser reads the whole document before the cap applies (it cannot stop early): the cost is linear,
    # about 0.2 ms of processor time an entry, and the fetch's body limit (20 MB) bounds it. 20k entries show
    # the cap and the linear cost within the folder's time budget.
    if kind == "json":
        body = json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "items": [{"url": f"https://partner.example.org/{i}", "title": "t"} for i in range(20_000)],
            }
        ).encode()
    elif kind == "atom":
        body = (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">'
            + _entries(
                20_000, '<entry><title>t</title><id>{i}</id><link href="https://partner.example.org/{i}"/></entry>'
            )
            + "</feed>"
        ).encode()
    else:
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel>'
            + _entries(20_000, "<item><title>t</title><link>https://partner.example.org/{i}</link></item>")
            + "</channel></rss>"
        ).encode()
    with measured(trace=False) as usage:
        entries = parse_feed(body, BASE, max_entries=500)
    assert len(entries) == 500 and usage.seconds < 20 and usage.peak_bytes < 200 * MB, usage


def test_a_hundred_thousand_govuk_documents_are_capped_by_the_harvest() -> None:
    body = json.dumps(
        {
            "base_path": "/x",
            "title": "t",
            "document_type": "document_collection",
            "links": {
                "documents": [
                    {"base_path": f"/d{i}", "title": "d", "api_path": f"/api/content/d{i}"} for i in range(100_000)
                ]
            },
        }
    )
    config = parse_sources(
        'sources:\n  - {id: g, name: G, url: "https://www.gov.uk", adapter: govuk, '
        'max_entries: 300, govuk: {paths: ["/x"]}}\n'
    ).sources[0]
    fetcher = FakeFetcher(
        {"https://www.gov.uk/api/content/x": FakeFetched("https://www.gov.uk/api/content/x", body=body.encode())}
    )
    with measured(trace=False) as usage:
        harvest = harvest_source(HarvestRequest(source=config, url=config.url), fetcher)
    assert len(harvest.entries) == 300 and usage.seconds < 15, usage


def test_twenty_thousand_page_entries_are_capped() -> None:
    # 100k containers take ~20 s (BeautifulSoup builds the whole tree first); 20k shows the cap and the
    # linear cost within the folder's time budget.
    body = (
        "<html><body>" + _entries(20_000, "<article><h2><a href='/a{i}'>T{i}</a></h2></article>") + "</body></html>"
    ).encode()
    with measured(trace=False) as usage:
        entries = parse_page(body, BASE, SELECTORS, max_entries=1000)
    assert len(entries) == 1000 and usage.seconds < 15, usage


OAI_RECORD = (
    "<record><header><identifier>oai:x:{i}</identifier></header><metadata><oai_dc:dc "
    + DC
    + "><dc:title>t</dc:title><dc:identifier>https://repository.example.ac.uk/{i}/</dc:identifier>"
    "</oai_dc:dc></metadata></record>"
)


def test_oai_harvest_stops_paging_at_max_entries() -> None:
    page = (
        '<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        + _entries(2_000, OAI_RECORD)
        + "<resumptionToken>{token}</resumptionToken></ListRecords></OAI-PMH>"
    )
    config = parse_sources(
        f'sources:\n  - {{id: o, name: O, url: "{OAI_BASE}", adapter: oai-pmh, max_entries: 100}}\n'
    ).sources[0]
    fetcher = FakeFetcher()
    fetcher.responses[f"{OAI_BASE}?verb=ListRecords&metadataPrefix=oai_dc"] = FakeFetched(
        OAI_BASE, body=page.format(token="t1").encode()
    )
    for n in range(1, 5):
        fetcher.responses[f"{OAI_BASE}?verb=ListRecords&resumptionToken=t{n}"] = FakeFetched(
            OAI_BASE, body=page.format(token=f"t{n + 1}" if n < 4 else "").encode()
        )
    harvest = harvest_source(HarvestRequest(source=config, url=config.url), fetcher)
    assert len(harvest.entries) == 100
    assert len(fetcher.calls) == 1  # the first page already held enough entries
    assert harvest.cursor is None  # cut short: the incremental `from` does not move past unread records


def test_twenty_thousand_oai_records_in_one_page_are_read_in_bounded_time() -> None:
    body = (
        '<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
        + _entries(20_000, OAI_RECORD)
        + "</ListRecords></OAI-PMH>"
    ).encode()
    with measured(trace=False) as usage:
        page = parse_list_records(body, OAI_BASE)
    assert len(page.entries) == 20_000 and usage.seconds < 15, usage


NESTED_XML = "<x>" * DEEP + "deep" + "</x>" * DEEP
NESTED_HTML = "<div><b><i>" * (DEEP // 3) + "deep" + "</i></b></div>" * (DEEP // 3)
NESTED_JSON = "[" * DEEP + "]" * DEEP


@pytest.mark.parametrize(
    "name",
    [
        "rss2-xml",
        "rss092-xml",
        "atom-xml",
        "rss2-html-summary",
        "json-feed",
        "govuk",
        "oai",
        "page",
        "page-summary",
        "metadata",
        "metadata-json-ld",
        "discover",
    ],
)
def test_ten_thousand_deep_nesting_is_bounded_and_never_a_recursion_error(name) -> None:
    html_page = f"<html><body><article><h2><a href='/a'>T</a></h2>{NESTED_HTML}</article></body></html>".encode()
    calls: dict[str, Callable[[], object]] = {
        "rss2-xml": lambda: parse_feed(rss("", "t", NESTED_XML), BASE),
        "rss092-xml": lambda: parse_feed(rss("", "t", NESTED_XML, "0.92"), BASE),
        "atom-xml": lambda: parse_feed(atom("", "t", NESTED_XML), BASE),
        "rss2-html-summary": lambda: parse_feed(rss("", "t", f"<![CDATA[{NESTED_HTML}]]>"), BASE),
        "json-feed": lambda: parse_feed(
            ('{"version": "https://jsonfeed.org/version/1", "items": ' + NESTED_JSON + "}").encode(), BASE
        ),
        "govuk": lambda: parse_content_item(
            ('{"base_path": "/x", "title": "t", "details": {"a": ' + NESTED_JSON + "}}").encode(), GOVUK
        ),
        "oai": lambda: parse_list_records(oai("", "t", NESTED_XML), OAI_BASE),
        "page": lambda: parse_page(
            (
                "<html><body>" + "<div>" * DEEP + "<article><h2><a href='/a'>T</a></h2>"
                "</article>" + "</div>" * DEEP + "</body></html>"
            ).encode(),
            BASE,
            SELECTORS,
        ),
        "page-summary": lambda: parse_page(html_page, BASE, SELECTORS),
        "metadata": lambda: extract_metadata(html_page, BASE),
        "metadata-json-ld": lambda: extract_metadata(
            (
                '<html><head><script type="application/ld+json">'
                + '{"a": ' * DEEP
                + "1"
                + "}" * DEEP
                + "</script><title>T</title></head></html>"
            ).encode(),
            BASE,
        ),
        "discover": lambda: discover_feeds(html_page, BASE),
    }
    with measured(trace=False) as usage:
        outcome_of(calls[name], ParseError)  # a RecursionError or any other exception fails the test
    assert usage.seconds < 15 and usage.peak_bytes < 200 * MB, usage
