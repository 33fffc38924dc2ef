"""Normalising RawEntry into Resource: canonical URLs, DOIs, bounded clean text, identity keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.config.sources import SourceConfig
from aggregator.ingest.normalize import canonicalize, normalize_doi, normalize_entry
from aggregator.model import Event, RawEntry, ResourceType

SOURCE = SourceConfig(id="s", name="S", url="https://example.org/feed", adapter="feed", tags=("Partner",))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Example.ORG:443/a/?utm_source=news&b=2&a=1#top", "https://example.org/a/?a=1&b=2"),
        (
            "http://www.england.nhs.uk:80/culture/?utm_medium=email&mc_cid=abc&id=5",
            "http://www.england.nhs.uk/culture/?id=5",
        ),
        ("https://eprints.lse.ac.uk/12345/", "https://eprints.lse.ac.uk/12345/"),
        ("https://x.org/?fbclid=123&gclid=9", "https://x.org/"),
        ("https://x.org/path%7Efoo/", "https://x.org/path~foo/"),
    ],
)
def test_canonicalize(url, expected):
    assert canonicalize(url) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://doi.org/10.1136/BMJ.n123.", "10.1136/bmj.n123"),
        ("doi:10.1000/xyz", "10.1000/xyz"),
        ("(see doi:10.1000/xyz)", "10.1000/xyz"),
        ("10.1186/s12913-020-05420-3", "10.1186/s12913-020-05420-3"),
        ("not a doi", None),
        (None, None),
    ],
)
def test_normalize_doi(value, expected):
    assert normalize_doi(value) == expected


def test_normalize_entry_cleans_and_bounds():
    entry = RawEntry(
        url="https://example.org/post/?utm_source=x",
        title="  Kindness \n in   care\x07 ",
        guid="post-1",
        summary_html="<p>" + "word " * 1000 + "</p>",
        authors=("A. Writer", "a. writer", ""),
        tags=("Kindness", "kindness", "Partner"),
        doi="https://doi.org/10.1000/ABC",
        published=datetime(2025, 3, 1, tzinfo=UTC),
    )
    resource = normalize_entry(entry, SOURCE, summary_max_chars=200)
    assert resource.title == "Kindness in care"
    assert resource.canonical_url == "https://example.org/post/"
    assert resource.key == "guid:post-1"
    assert len(resource.summary) <= 200 and resource.summary.endswith("…")
    assert resource.summary_html.startswith("<p>word") and len(resource.summary_html) < 400
    assert resource.authors == ("A. Writer",)
    assert resource.tags == ("Kindness", "Partner")
    assert resource.doi == "10.1000/abc"
    assert resource.type is ResourceType.RESEARCH  # a DOI and no other statement
    assert len(resource.content_hash) == 64


def test_key_falls_back_to_canonical_url_and_hash_is_stable():
    entry = RawEntry(url="https://example.org/a?utm_campaign=z", title="T")
    first, second = normalize_entry(entry, SOURCE), normalize_entry(entry, SOURCE)
    assert first.key == "url:https://example.org/a"
    assert first.content_hash == second.content_hash
    changed = normalize_entry(RawEntry(url=entry.url, title="T2"), SOURCE)
    assert changed.content_hash != first.content_hash


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (RawEntry(url="https://e.org/1", title="t", type_hint=ResourceType.POLICY), ResourceType.POLICY),
        (
            RawEntry(url="https://e.org/1", title="t", event=Event(start=datetime(2025, 1, 1, tzinfo=UTC))),
            ResourceType.EVENT,
        ),
        (RawEntry(url="https://e.org/1", title="t"), ResourceType.NEWS),
    ],
)
def test_type_inference(entry, expected):
    assert normalize_entry(entry, SOURCE).type is expected


def test_empty_title_falls_back_to_summary():
    entry = RawEntry(url="https://e.org/x", title="", summary_html="<p>Compassion circles for staff</p>")
    assert normalize_entry(entry, SOURCE).title == "Compassion circles for staff"


@pytest.mark.parametrize(
    "title, plain",
    [
        ("<img src=x onerror=alert(1)>Kindness at work", "Kindness at work"),
        ("Kindness <script>alert(1)</script>at work", "Kindness at work"),
        ("&lt;img src=x onerror=alert(1)&gt;Kindness", "Kindness"),  # escaped once more in the source
        ("&amp;lt;img src=x onerror=alert(1)&amp;gt;Kindness", "Kindness"),
        ("<b>Bold</b> &amp; <i>brave</i>", "Bold & brave"),
        ("Care when 2 < 3 and 5 > 4", "Care when 2 < 3 and 5 > 4"),  # not a tag: kept as it is
        ("Fish & chips", "Fish & chips"),
    ],
)
def test_a_title_is_plain_text_with_tags_stripped(title, plain):
    assert normalize_entry(RawEntry(url="https://e.org/t", title=title), SOURCE).title == plain


@pytest.mark.parametrize(
    ("url", "doi", "expected"),
    [
        ("https://journals.example/doi/10.1136/bmjq-2024-017/full/pdf?download=true", None, "10.1136/bmjq-2024-017"),
        ("https://journals.example/doi/10.1136/bmjq-2024-017", "10.9999/own", "10.9999/own"),  # the entry's own wins
        ("https://partner.example/news/kindness-2024", None, None),
    ],
)
def test_a_landing_page_address_gives_the_doi(url, doi, expected):
    config = SourceConfig(id="p", name="p", url="https://partner.example/feed", adapter="feed")
    assert normalize_entry(RawEntry(url=url, title="A paper", doi=doi), config).doi == expected
