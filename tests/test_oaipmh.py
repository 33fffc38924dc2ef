"""Tests for the OAI-PMH adapter against sickle's real responses and an EPrints (LSE) style page."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.ingest.adapters.dublincore import dc_type_hint
from aggregator.ingest.adapters.oaipmh import (
    OaiError,
    OaiPage,
    harvest_records,
    list_records_url,
    parse_list_records,
)
from aggregator.model import ResourceType

DATA = Path(__file__).parent / "data" / "oaipmh"
BASE = "http://test.example.com/oai"
LSE = "https://eprints.lse.ac.uk/cgi/oai2"
UTC = UTC


@pytest.fixture(scope="module")
def sickle_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "oai-pmh" / "sickle"


def read(folder: Path, name: str) -> bytes:
    return (folder / name).read_bytes()


# file -> (entries, deleted identifiers, resumption token, completeListSize)
PAGES = {
    "ListRecords.xml": (1, ("oai:test.example.com:1585310",), "ListRecords2.xml", 8),
    "ListRecords2.xml": (1, ("oai:test.example.com:1585310",), "ListRecords3.xml", 8),
    "ListRecords3.xml": (1, ("oai:test.example.com:1585310",), "ListRecords4.xml", 8),
    "ListRecords4.xml": (1, (), None, None),  # its deleted record has no identifier: skipped
    "GetRecord.xml": (1, (), None, None),
    "GetRecord_utf8test.xml": (1, (), None, None),
    "noRecordsMatch.xml": (0, (), None, 0),
}
OAI_ERRORS = (
    "badArgument",
    "badResumptionToken",
    "cannotDisseminateFormat",
    "idDoesNotExist",
    "noSetHierarchy",
    "undefinedError",
)
# Well-formed OAI-PMH, but another verb than ListRecords/GetRecord; or not XML at all.
NOT_LIST_RECORDS = (
    "Identify.xml",
    "ListIdentifiers.xml",
    "ListIdentifiers2.xml",
    "ListMetadataFormats.xml",
    "ListSets.xml",
    "ListRecordsBroken.xml",
)


def test_every_sickle_file_has_an_expected_outcome(sickle_dir: Path) -> None:
    covered = set(PAGES) | {f"{code}.xml" for code in OAI_ERRORS} | set(NOT_LIST_RECORDS)
    assert covered == {path.name for path in sickle_dir.glob("*.xml")}
    assert len(covered) == 19


@pytest.mark.parametrize("name", sorted(PAGES))
def test_page_counts_and_tokens(sickle_dir: Path, name: str) -> None:
    count, deleted, token, size = PAGES[name]
    page = parse_list_records(read(sickle_dir, name), BASE)
    assert isinstance(page, OaiPage)
    assert (len(page.entries), page.deleted, page.resumption_token or None, page.complete_list_size) == (
        count,
        deleted,
        token,
        size,
    )
    assert page.response_date is not None and page.response_date.tzinfo is not None


@pytest.mark.parametrize("code", OAI_ERRORS)
def test_oai_errors_raise_with_their_code(sickle_dir: Path, code: str) -> None:
    with pytest.raises(OaiError) as raised:
        parse_list_records(read(sickle_dir, f"{code}.xml"), BASE)
    assert raised.value.code == code
    assert isinstance(raised.value, ParseError)


def test_bad_resumption_token_keeps_the_server_message(sickle_dir: Path) -> None:
    with pytest.raises(OaiError, match="This resumptionToken is invalid") as raised:
        parse_list_records(read(sickle_dir, "badResumptionToken.xml"), BASE)
    assert raised.value.hint


def test_no_records_match_is_an_empty_page(sickle_dir: Path) -> None:
    page = parse_list_records(read(sickle_dir, "noRecordsMatch.xml"), BASE)
    assert page.entries == () and page.deleted == () and not page.resumption_token
    assert page.response_date == datetime(2002, 2, 8, 14, 27, 19, tzinfo=UTC)


@pytest.mark.parametrize("name", NOT_LIST_RECORDS)
def test_other_responses_are_parse_errors(sickle_dir: Path, name: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse_list_records(read(sickle_dir, name), BASE)
    assert not isinstance(raised.value, OaiError)


def test_sickle_record_fields(sickle_dir: Path) -> None:
    page = parse_list_records(read(sickle_dir, "ListRecords.xml"), BASE)
    (entry,) = page.entries
    assert entry.url == "http://test.example.com/publication/1585322"
    assert entry.guid == "oai:test.example.com:1585322"
    assert entry.title == "Sample Title"
    assert entry.authors == ("John Doe",)  # repeated creators collapse
    assert entry.published == datetime(2010, 1, 1, tzinfo=UTC)
    assert entry.updated == datetime(2011, 1, 10, 10, 19, 23, tzinfo=UTC)
    assert entry.type_hint is ResourceType.RESEARCH  # info:eu-repo/semantics/article
    assert entry.summary_html and entry.summary_html.startswith("<p>Lorem ipsum dolor sit amet")
    assert entry.extra["publisher"] == "Sample Publisher"


def test_utf8_creator(sickle_dir: Path) -> None:
    (entry,) = parse_list_records(read(sickle_dir, "GetRecord_utf8test.xml"), BASE).entries
    assert entry.authors == ("某人",)


def fake_repository(folder: Path, requested: list[str]):
    """A fetch serving sickle's chain: no token -> ListRecords.xml; token T -> the file named T."""

    def fetch(url: str) -> bytes:
        requested.append(url)
        query = dict(parse_qsl(urlsplit(url).query))
        return read(folder, query.get("resumptionToken", "ListRecords.xml"))

    return fetch


def test_harvest_follows_resumption_tokens(sickle_dir: Path) -> None:
    requested: list[str] = []
    entries, response_date = harvest_records(fake_repository(sickle_dir, requested), BASE, from_date=date(2011, 1, 1))
    assert len(entries) == 4
    assert response_date == datetime(2013, 2, 27, 9, 10, 56, tzinfo=UTC)
    assert requested == [
        f"{BASE}?verb=ListRecords&metadataPrefix=oai_dc&from=2011-01-01",
        f"{BASE}?verb=ListRecords&resumptionToken=ListRecords2.xml",
        f"{BASE}?verb=ListRecords&resumptionToken=ListRecords3.xml",
        f"{BASE}?verb=ListRecords&resumptionToken=ListRecords4.xml",
    ]


def test_harvest_stops_on_a_repeated_token(sickle_dir: Path) -> None:
    requested: list[str] = []
    entries, _ = harvest_records(lambda url: requested.append(url) or read(sickle_dir, "ListRecords.xml"), BASE)
    assert len(requested) == 2 and len(entries) == 2


def test_harvest_stops_at_max_pages(sickle_dir: Path) -> None:
    requested: list[str] = []
    entries, _ = harvest_records(fake_repository(sickle_dir, requested), BASE, max_pages=2)
    assert len(requested) == 2 and len(entries) == 2


def test_harvest_with_no_records(sickle_dir: Path) -> None:
    entries, response_date = harvest_records(lambda url: read(sickle_dir, "noRecordsMatch.xml"), BASE)
    assert entries == [] and response_date == datetime(2002, 2, 8, 14, 27, 19, tzinfo=UTC)


def test_harvest_propagates_a_bad_token(sickle_dir: Path) -> None:
    pages = iter([read(sickle_dir, "ListRecords.xml"), read(sickle_dir, "badResumptionToken.xml")])
    with pytest.raises(OaiError) as raised:
        harvest_records(lambda url: next(pages), BASE)
    assert raised.value.code == "badResumptionToken"


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, [("verb", "ListRecords"), ("metadataPrefix", "oai_dc")]),
        (
            {"set_spec": "7374617475733D707562"},
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "7374617475733D707562")],
        ),
        (
            {"from_date": date(2024, 4, 1)},
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-04-01")],
        ),
        (
            {"from_date": datetime(2024, 4, 1, 9, 30, 5, tzinfo=UTC)},
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-04-01T09:30:05Z")],
        ),
        (
            {"from_date": datetime(2024, 4, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))},
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-04-01T09:30:00Z")],
        ),
        (
            {"from_date": datetime(2024, 4, 1, 9, 30)},  # naive: taken as UTC
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-04-01T09:30:00Z")],
        ),
        (
            {"metadata_prefix": "rioxx", "set_spec": "s", "from_date": date(2024, 1, 2), "resumption_token": "a&b=c"},
            [("verb", "ListRecords"), ("resumptionToken", "a&b=c")],
        ),  # a token excludes every other argument
    ],
)
def test_list_records_url(kwargs: dict, query: list[tuple[str, str]]) -> None:
    url = list_records_url(LSE, **kwargs)
    assert url.startswith(LSE + "?")
    assert parse_qsl(urlsplit(url).query) == query


def test_list_records_url_keeps_other_query_arguments() -> None:
    url = list_records_url("https://repo.example.org/oai?key=1&verb=Identify", resumption_token="t")
    assert parse_qsl(urlsplit(url).query) == [("key", "1"), ("verb", "ListRecords"), ("resumptionToken", "t")]


def test_eprints_lse_page_field_by_field() -> None:
    page = parse_list_records(read(DATA, "eprints-lse-listrecords.xml"), LSE)
    assert page.resumption_token == "metadataPrefix%3Doai_dc%26offset%3D121803%26from%3D2024-04-01"
    assert page.complete_list_size is None
    assert page.response_date == datetime(2024, 5, 2, 8, 15, 42, tzinfo=UTC)
    assert page.deleted == ("oai:eprints.lse.ac.uk:98765",)
    article, report = page.entries
    assert article.url == "https://eprints.lse.ac.uk/121734/"  # the item page, not the PDF or the DOI
    assert article.guid == "oai:eprints.lse.ac.uk:121734"
    assert article.title.startswith("Compassionate leadership and staff wellbeing")
    assert article.doi == "10.1016/j.socscimed.2024.116712"  # bare and lower-case
    assert article.authors == ("Okafor, Adaeze", "Whitfield, Thomas", "Nakamura, Emi")
    assert article.tags == (
        "RA Public aspects of medicine",
        "HV Social pathology. Social and public welfare. Criminology",
    )
    assert article.published == datetime(2024, 3, 1, tzinfo=UTC)  # "2024-03"
    assert article.updated == datetime(2024, 4, 18, 10, 2, 11, tzinfo=UTC)
    assert article.type_hint is ResourceType.RESEARCH
    assert article.summary_html is not None and article.summary_html.count("<p>") == 2
    assert "community &amp; primary care" in article.summary_html and "(p &lt; 0.01)" in article.summary_html
    assert article.extra["peer_reviewed"] == "true"
    assert article.extra["full_text_url"].endswith("/121734/1/Compassionate_leadership_community_care.pdf")
    assert report.url == "https://eprints.lse.ac.uk/121802/"
    assert report.doi is None
    assert report.type_hint is ResourceType.REPORT  # EPrints "Monograph"
    assert report.published == datetime(2023, 1, 1, tzinfo=UTC)  # year only
    assert report.summary_html is not None and "<script>" not in report.summary_html
    assert "&lt;script&gt;" in report.summary_html
    assert report.extra["peer_reviewed"] == "false"


def record_page(
    dc_body: str, header: str = "<identifier>oai:x:1</identifier><datestamp>2024-01-01</datestamp>"
) -> bytes:
    return f"""<?xml version="1.0"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-02T00:00:00Z</responseDate>
<ListRecords><record><header>{header}</header><metadata>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
{dc_body}</oai_dc:dc></metadata></record></ListRecords></OAI-PMH>""".encode()


@pytest.mark.parametrize(
    ("dc_body", "url", "doi"),
    [
        # no page link, only a full text and a DOI: the DOI resolver is the better landing page
        (
            "<dc:title>T</dc:title><dc:identifier>https://r.example/1/1/a.pdf</dc:identifier>"
            "<dc:identifier>doi:10.1234/ABC.5</dc:identifier>",
            "https://doi.org/10.1234/abc.5",
            "10.1234/abc.5",
        ),
        # only a full text: better than nothing
        (
            "<dc:title>T</dc:title><dc:identifier>https://r.example/1/1/a.pdf</dc:identifier>",
            "https://r.example/1/1/a.pdf",
            None,
        ),
        # a page on the repository's host wins over the publisher's page listed first
        (
            "<dc:title>T</dc:title><dc:relation>https://publisher.example/x</dc:relation>"
            "<dc:relation>https://eprints.lse.ac.uk/5/</dc:relation>"
            "<dc:relation>http://dx.doi.org/10.5555/xyz</dc:relation>",
            "https://eprints.lse.ac.uk/5/",
            "10.5555/xyz",
        ),
    ],
)
def test_url_and_doi_choice(dc_body: str, url: str, doi: str | None) -> None:
    (entry,) = parse_list_records(record_page(dc_body), LSE).entries
    assert (entry.url, entry.doi) == (url, doi)


@pytest.mark.parametrize(
    "dc_body",
    [
        "<dc:title>No link</dc:title><dc:identifier>Doe, J (2020) No link. Citation only.</dc:identifier>",
        "<dc:identifier>https://eprints.lse.ac.uk/7/</dc:identifier>",  # no title
    ],
)
def test_records_without_title_or_link_are_skipped(dc_body: str, caplog: pytest.LogCaptureFixture) -> None:
    page = parse_list_records(record_page(dc_body), LSE)
    assert page.entries == ()
    assert "OAI record skipped" in caplog.text


@pytest.mark.parametrize(
    ("dc_type", "expected"),
    [
        ("Article", ResourceType.RESEARCH),
        ("Book Section", ResourceType.RESEARCH),
        ("Conference or Workshop Item", ResourceType.RESEARCH),
        ("Thesis", ResourceType.RESEARCH),
        ("Monograph", ResourceType.REPORT),
        ("Report", ResourceType.REPORT),
        ("info:eu-repo/semantics/workingPaper", ResourceType.REPORT),
        ("Event", ResourceType.EVENT),
        ("Video", ResourceType.VIDEO),
        ("Teaching Resource", ResourceType.TOOLKIT),
        ("PeerReviewed", None),
        ("text", None),
    ],
)
def test_dc_type_hint(dc_type: str, expected: ResourceType | None) -> None:
    assert dc_type_hint(dc_type) is expected


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>Not OAI</body></html>",
        b"<?xml version='1.0'?><OAI-PMH/>",
        b"<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'/>",
        b"\xff\xfe\x00<",
    ],
)
def test_non_oai_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_list_records(body, BASE)


def test_billion_laughs_is_refused_quickly() -> None:
    entities = "".join(f'<!ENTITY l{i} "' + f"&l{i - 1};" * 10 + '">' for i in range(1, 10))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY l0 "lol">{entities}]>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords><record><header>'
        "<identifier>oai:x:1</identifier></header><metadata>"
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&l9;</dc:title>'
        "<dc:identifier>https://r.example/1/</dc:identifier></oai_dc:dc></metadata></record>"
        "</ListRecords></OAI-PMH>"
    ).encode()
    started = time.perf_counter()
    with pytest.raises(ParseError):
        parse_list_records(body, BASE)
    assert time.perf_counter() - started < 1.0


def test_external_entities_are_not_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE OAI-PMH [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>&x;</responseDate>'
        "<ListRecords/></OAI-PMH>"
    ).encode()
    with pytest.raises(ParseError):
        parse_list_records(body, BASE)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_give_a_page_or_parse_error(body: bytes) -> None:
    try:
        assert isinstance(parse_list_records(body, BASE), OaiPage)
    except ParseError:
        pass


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<dc:title>T</dc:title>",
                "<dc:title/>",
                "<dc:identifier>https://e.example/1/</dc:identifier>",
                "<dc:identifier>10.1/x</dc:identifier>",
                "<dc:date>2020-13-45</dc:date>",
                "<dc:date>2020</dc:date>",
                "<dc:description>a\n\nb &amp; &lt;i&gt;</dc:description>",
                "<dc:type>Article</dc:type>",
                "<!-- c -->",
                "<dc:relation>http://</dc:relation>",
                "<dc:creator> </dc:creator>",
                "<other xmlns='urn:x'>y</other>",
            ]
        ),
        max_size=12,
    ),
    st.sampled_from(["", "<identifier>oai:x:1</identifier>", "<datestamp>bad</datestamp>"]),
)
def test_random_oai_dc_records_give_a_page(parts: list[str], header: str) -> None:
    page = parse_list_records(record_page("".join(parts), header), LSE)
    for entry in page.entries:
        assert entry.title and entry.url.startswith(("http://", "https://"))
