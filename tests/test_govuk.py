"""Tests for the GOV.UK Content API adapter against the real content items of govuk-content-schemas."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.ingest.adapters.govuk import content_api_url, parse_content_item
from aggregator.ingest.adapters.govuk_types import humanise, type_hint
from aggregator.model import ResourceType
from aggregator.text.sanitize import clean_text

UTC = UTC
API = "https://www.gov.uk/api/content"
# Items GOV.UK serves without a title: "gone" and "redirect" placeholders (the live API answers them
# with 410 and a redirect, so the adapter never sees them as 200 bodies). They raise ParseError.
UNTITLED = {
    "gone/frontend/gone.json",
    "gone/frontend/gone_with_alternative_path.json",
    "redirect/frontend/redirect.json",
}


@pytest.fixture(scope="module")
def items_dir(corpus_dir: Path) -> Path:
    return corpus_dir / "govuk" / "content-items"


def load(items_dir: Path, name: str) -> tuple[bytes, dict]:
    body = (items_dir / name).read_bytes()
    return body, json.loads(body)


def test_every_frontend_item_parses(items_dir: Path) -> None:
    paths = sorted(items_dir.glob("*/frontend/*.json"))
    assert len(paths) == 282
    parsed = refused = entries = 0
    for path in paths:
        name = str(path.relative_to(items_dir))
        body, item = load(items_dir, name)
        try:
            result = parse_content_item(body, API + item["base_path"])
        except ParseError:
            assert name in UNTITLED, name
            assert not item.get("title")
            refused += 1
            continue
        assert name not in UNTITLED
        first = result[0]
        assert first.title == clean_text(item["title"]), name
        assert first.url == "https://www.gov.uk" + item["base_path"], name
        assert first.guid == item.get("content_id"), name
        assert first.updated is None or first.updated.tzinfo is UTC
        assert first.extra["document_type"] == item["document_type"]
        parsed += 1
        entries += len(result)
    assert (parsed, refused) == (279, 3)
    assert entries == 279 + 87  # nine collections add their 87 linked documents


def test_publication_fields(items_dir: Path) -> None:
    body, item = load(items_dir, "publication/frontend/best-practice-policy-paper.json")
    (entry,) = parse_content_item(body, "")
    assert entry.title == item["title"]
    assert (
        entry.summary_html
        == "The Charity Commission’s role and approach in dealing with safeguarding issues in charities."
    )
    assert entry.content_html and entry.content_html.startswith("<div><p>One of the Charity Commission")
    assert entry.published == datetime(2013, 5, 23, 12, 52, tzinfo=UTC)
    assert entry.updated == datetime(2017, 12, 6, 7, 8, 5, tzinfo=UTC)
    assert entry.authors == ("The Charity Commission",)
    assert entry.tags[0] == "Policy paper"
    assert entry.type_hint is ResourceType.POLICY
    assert entry.extra["organisations"] == "The Charity Commission"
    assert entry.extra["change_note"].startswith("Updated strategy sets out")


def test_latest_change_note_and_first_public_at(items_dir: Path) -> None:
    body, _ = load(items_dir, "consultation/frontend/best-practice-consultation.json")
    (entry,) = parse_content_item(body, API)
    assert entry.extra["change_note"] == "Added responses."  # newest of three
    assert entry.type_hint is ResourceType.POLICY


def test_document_collection_yields_its_documents(items_dir: Path) -> None:
    body, item = load(items_dir, "document_collection/frontend/document_collection.json")
    collection, *documents = parse_content_item(body, API + item["base_path"])
    assert collection.title == "National standards for driving and riding"
    assert collection.extra["document_type"] == "document_collection"
    linked = item["links"]["documents"]
    assert [d.title for d in documents] == [clean_text(d["title"]) for d in linked]
    assert [d.url for d in documents] == ["https://www.gov.uk" + d["base_path"] for d in linked]
    assert [d.guid for d in documents] == [d["content_id"] for d in linked]
    first = documents[0]
    assert first.title == "Car and light van driver competence framework"
    assert first.updated == datetime(2014, 2, 24, 15, 0, 2, tzinfo=UTC)
    assert first.type_hint is ResourceType.TOOLKIT  # guidance
    assert first.summary_html and first.summary_html.startswith("The research, statistics")
    assert first.authors == ("Driver and Vehicle Standards Agency",)  # inherited from the collection
    assert first.extra["collection"] == collection.title
    assert first.extra["collection_url"] == collection.url
    assert first.extra["collection_group"] == "Car and light van"


def test_withdrawn_collection_documents_are_marked(items_dir: Path) -> None:
    body, _ = load(items_dir, "document_collection/frontend/document_collection_with_withdrawn_links_documents.json")
    _, *documents = parse_content_item(body, API)
    assert [d.extra.get("withdrawn") for d in documents] == ["true", None, None]


@pytest.mark.parametrize(
    "name",
    [
        "document_collection/frontend/document_collection_with_no_documents.json",
        "document_collection/frontend/document_collection_with_missing_links_documents.json",
        "document_collection/frontend/document_collection_with_group_but_no_documents.json",
    ],
)
def test_empty_collections_yield_only_themselves(items_dir: Path, name: str) -> None:
    body, _ = load(items_dir, name)
    assert len(parse_content_item(body, API)) == 1


def test_urls_follow_the_base_url_origin(items_dir: Path) -> None:
    body, item = load(items_dir, "case_study/frontend/case_study.json")
    (entry,) = parse_content_item(body, "http://127.0.0.1:8123/api/content/x")
    assert entry.url == "http://127.0.0.1:8123" + item["base_path"]
    assert entry.type_hint is ResourceType.CASE_STUDY


@pytest.mark.parametrize(
    ("document_type", "schema_name", "expected"),
    [
        ("case_study", None, ResourceType.CASE_STUDY),
        ("news_story", None, ResourceType.NEWS),
        ("press_release", None, ResourceType.NEWS),
        ("speech", None, ResourceType.NEWS),
        ("research", None, ResourceType.RESEARCH),
        ("independent_report", None, ResourceType.RESEARCH),
        ("official_statistics", None, ResourceType.RESEARCH),
        ("corporate_report", None, ResourceType.REPORT),
        ("transparency", None, ResourceType.REPORT),
        ("policy_paper", None, ResourceType.POLICY),
        ("consultation_outcome", None, ResourceType.POLICY),
        ("open_consultation", None, ResourceType.POLICY),
        ("statutory_guidance", None, ResourceType.POLICY),
        ("guidance", None, ResourceType.TOOLKIT),
        ("detailed_guide", None, ResourceType.TOOLKIT),
        ("guide", None, ResourceType.TOOLKIT),
        ("something_new", "publication", ResourceType.REPORT),  # unknown type: the schema decides
        ("organisation", "organisation", None),
        ("taxon", None, None),
        (None, None, None),
    ],
)
def test_type_hint(document_type: str | None, schema_name: str | None, expected: ResourceType | None) -> None:
    assert type_hint(document_type, schema_name) is expected


@pytest.mark.parametrize(
    ("document_type", "label"),
    [
        ("policy_paper", "Policy paper"),
        ("news_story", "News story"),
        ("", ""),
        (None, ""),
    ],
)
def test_humanise(document_type: str | None, label: str) -> None:
    assert humanise(document_type) == label


def test_description_is_escaped_and_body_sanitised() -> None:
    item = {
        "base_path": "/x",
        "title": "<b>T</b>",
        "content_id": "c",
        "description": "a < b & <script>",
        "details": {"body": "<p onclick='x()'>Hi<script>alert(1)</script><a href='/y'>y</a></p>"},
    }
    (entry,) = parse_content_item(json.dumps(item).encode(), API)
    assert entry.title == "<b>T</b>"  # plain text, kept as text
    assert entry.summary_html == "a &lt; b &amp; &lt;script&gt;"
    assert entry.content_html is not None
    assert "script" not in entry.content_html and "onclick" not in entry.content_html
    assert 'href="https://www.gov.uk/y"' in entry.content_html


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"x"',
        b"{}",
        b'{"title": "T"}',
        b'{"base_path": "relative", "title": "T"}',
        b'{"base_path": "/x", "title": ""}',
        b'{"base_path": "/x", "title": 5}',
        b"\xff\xfe{",
        b"[" * 100_000,
    ],
)
def test_bad_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_content_item(body, API)


@pytest.mark.parametrize(
    ("base_url", "path", "url"),
    [
        ("", "/government/collections/compassion", f"{API}/government/collections/compassion"),
        ("https://www.gov.uk", "government/publications/x", f"{API}/government/publications/x"),
        ("", "https://www.gov.uk/guidance/y", f"{API}/guidance/y"),
        ("", "/api/content/guidance/y", f"{API}/guidance/y"),
        ("http://127.0.0.1:9000/anything", "/a b", "http://127.0.0.1:9000/api/content/a%20b"),
    ],
)
def test_content_api_url(base_url: str, path: str, url: str) -> None:
    assert content_api_url(base_url, path) == url


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_give_entries_or_parse_error(body: bytes) -> None:
    try:
        assert isinstance(parse_content_item(body, API), list)
    except ParseError:
        pass


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "title",
                    "base_path",
                    "content_id",
                    "description",
                    "details",
                    "links",
                    "documents",
                    "organisations",
                    "body",
                    "change_history",
                    "note",
                    "public_timestamp",
                    "first_public_at",
                    "public_updated_at",
                    "document_type",
                    "collection_groups",
                    "parts",
                    "withdrawn_notice",
                    "explanation",
                    "taxons",
                ]
            ),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "details",
                "links",
                "description",
                "public_updated_at",
                "first_published_at",
                "document_type",
                "withdrawn_notice",
            ]
        ),
        JSON,
    )
)
def test_random_content_items_give_entries(fields: dict) -> None:
    body = json.dumps({"base_path": "/p", "title": "T", **fields}).encode()
    entries = parse_content_item(body, API)
    assert entries[0].url == "https://www.gov.uk/p"
