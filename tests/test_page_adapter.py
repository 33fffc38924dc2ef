"""The page adapter: CSS-selected entries from WordPress and NHS England pages, and its edge cases."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.config.sources import PageSelectors
from aggregator.errors import ParseError
from aggregator.ingest.adapters.page import is_html, parse_page
from aggregator.model import Event, RawEntry

DATA = Path(__file__).parent / "data" / "page"
SEMINARS_URL = "https://compassionresearch.example.ac.uk/seminars/previous-seminars/"
NHS_URL = "https://www.england.nhs.uk/culture/culture-leadership-resources/"
EVENTS_URL = "https://kindnessincare.example.org.uk/events/"


def selectors(**config: Any) -> PageSelectors:
    return PageSelectors.model_validate(config)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


SEMINAR_SELECTORS = selectors(
    container=".entry-content .seminar",
    title=".seminar-title",
    date=".seminar-date",
    summary=".seminar-abstract",
    fields={
        "speaker": ".seminar-speaker",
        "affiliation": ".seminar-affiliation",
        "event_date": ".seminar-date",
        "slides": "a.seminar-slides @href",
        "recording": "a.seminar-recording @href",
    },
)


def test_wordpress_previous_seminars(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="aggregator.ingest.adapters.page"):
        entries = parse_page((DATA / "wordpress-previous-seminars.html").read_bytes(), SEMINARS_URL, SEMINAR_SELECTORS)
    # the fourth seminar ("to be announced") has no link: skipped and logged, not invented
    assert len(entries) == 3
    assert "without a title or an http(s) link" in caplog.text

    first, second, third = entries
    assert first == RawEntry(
        url="https://compassionresearch.example.ac.uk/seminars/compassionate-leadership-in-acute-trusts/",
        title="Compassionate leadership in acute trusts: what the staff survey tells us",
        summary_html=(
            "<p>Drawing on ten years of NHS Staff Survey data, this seminar looks at how <strong>compassionate "
            "leadership</strong> relates to staff wellbeing and patient care.</p>\n<p>See also "
            '<a href="https://compassionresearch.example.ac.uk/reading-list/" rel="noopener noreferrer nofollow">'
            "our reading list</a>.</p>"
        ),
        published=utc(2024, 6, 5, 11, 30),  # from <time datetime="2024-06-05T12:30:00+01:00">
        event=Event(start=utc(2024, 6, 5, 11, 30), end=utc(2024, 6, 5, 12, 30), timezone="Europe/London"),
        extra={
            "speaker": "Professor Michael West",
            "affiliation": "The King\u2019s Fund & Lancaster University",
            "event_date": "Wednesday 5th June 2024, 12:30\u201313:30",
            "slides": "https://compassionresearch.example.ac.uk/wp-content/uploads/2024/06/"
            "West-compassionate-leadership-slides.pdf",
            "recording": "https://www.youtube.com/watch?v=abc123XYZ",
        },
    )

    # nested markup and entities in the title; text date in winter (GMT); ../ slides link; script dropped
    assert second.url == "https://compassionresearch.example.ac.uk/seminars/kindness-and-patient-safety/"
    assert second.title == "Kindness & patient safety: evidence from maternity services"
    assert second.published == utc(2025, 1, 8, 12, 30)
    assert second.event == Event(start=utc(2025, 1, 8, 12, 30), end=utc(2025, 1, 8, 13, 30), timezone="Europe/London")
    assert second.extra["slides"] == (
        "https://compassionresearch.example.ac.uk/wp-content/uploads/2025/01/Rahman-kindness-safety.pptx"
    )
    assert "recording" not in second.extra
    assert second.summary_html is not None
    assert "script" not in second.summary_html and "tracking" not in second.summary_html
    assert "onerror" not in second.summary_html
    assert (
        '<img alt="A maternity team" src="https://compassionresearch.example.ac.uk/wp-content/uploads/2025/01/'
        'maternity-team.jpg">'
    ) in second.summary_html

    # two speakers joined; a date without a time is that day at midnight UTC
    assert third.title == "Self-compassion for nurses on night shifts"
    assert third.extra["speaker"] == "Dr Chris Jones, Sam O\u2019Neill RN"
    assert third.published == utc(2025, 3, 12)
    assert third.event == Event(start=utc(2025, 3, 12), timezone="Europe/London")
    assert third.summary_html == "<p>A pilot of a short self-compassion programme for nurses working nights.</p>"
    assert (third.tags, third.authors, third.guid, third.doi) == ((), (), None, None)


def test_nhs_england_culture_resources() -> None:
    config = selectors(
        container="article.resource",
        title=".resource-title",
        date=".resource-date",
        summary=".resource-summary",
        tags=".resource-tags a[rel~=tag]",
        fields={"publication_type": ".resource-type", "pdf": ".resource-download a @href"},
    )
    entries = parse_page((DATA / "nhs-england-culture-resources.html").read_bytes(), NHS_URL, config)
    assert entries == [
        RawEntry(
            url="https://www.england.nhs.uk/publication/culture-and-leadership-programme-discovery-phase/",
            title="Culture and leadership programme: discovery phase",
            summary_html=(
                "A toolkit for boards to understand their organisation\u2019s culture, including the "
                '<a href="https://www.england.nhs.uk/culture/cultural-diagnostic/" rel="noopener noreferrer nofollow">'
                "cultural diagnostic tools</a>."
            ),
            published=utc(2025, 3, 12),  # "Published: 12 March 2025"
            tags=("Compassionate leadership", "Culture", "Audience: Boards and senior leaders"),
            extra={
                "publication_type": "Guidance",
                "pdf": "https://www.england.nhs.uk/wp-content/uploads/2025/03/culture-leadership-discovery-toolkit.pdf",
            },
        ),
        RawEntry(
            url="https://www.england.nhs.uk/long-read/civility-and-respect-toolkit/",
            title="Civility and respect toolkit",
            summary_html=(
                "Practical steps to tackle bullying and harassment and create a culture of civility &amp; respect."
            ),
            published=utc(2024, 11, 7),
            tags=("Culture", "Audience: Health and care staff"),
            extra={"publication_type": "Long read"},
        ),
    ]


def test_windows_1252_events_page_fills_event() -> None:
    config = selectors(
        container="article.event",
        title=".event-title",
        summary=".event-description",
        fields={"event_date": ".event-when", "location": ".event-where", "registration": ".event-register a @href"},
    )
    body = (DATA / "wordpress-events-latin1.html").read_bytes()
    assert "café".encode("windows-1252") in body  # really not UTF-8
    first, second = parse_page(body, EVENTS_URL, config)
    assert first.title == "Monthly conversation: compassion fatigue \u2013 caf\u00e9 style"
    assert first.url == "https://kindnessincare.example.org.uk/event/monthly-conversation-compassion-fatigue/"
    assert first.summary_html == (
        "<p>An open conversation about compassion fatigue for staff in health and social "
        "care \u2014 \u201cbring your own cuppa\u201d.</p>"
    )
    assert first.published is None  # no date selector and no <time>: the event date is not a publication date
    assert first.event == Event(
        start=utc(2024, 12, 3, 18),
        end=utc(2024, 12, 3, 19, 30),
        timezone="Europe/London",
        location="Online (Microsoft Teams)",
        online=True,
        registration_url="https://www.eventbrite.co.uk/e/monthly-conversation-compassion-fatigue-tickets-1234567890",
    )
    assert second.event == Event(
        start=utc(2025, 6, 11, 11, 30),
        end=utc(2025, 6, 11, 13),
        timezone="Europe/London",
        location="The Priory Rooms, Birmingham",
        online=None,
        registration_url=None,
    )


SIMPLE = selectors(container="li.item", title="h3", date=".date", summary=".abstract")
BASE = "https://example.org/news/index.html"


def one(html: str | bytes, config: PageSelectors = SIMPLE, base_url: str = BASE) -> RawEntry | None:
    body = html.encode("utf-8") if isinstance(html, str) else html
    entries = parse_page(body, base_url, config)
    assert len(entries) <= 1
    return entries[0] if entries else None


@pytest.mark.parametrize(
    ("item", "field", "expected"),
    [
        ('<h3><a href="story.html">A</a></h3>', "url", "https://example.org/news/story.html"),
        ('<h3><a href="/a/b?c=1#frag">A</a></h3>', "url", "https://example.org/a/b?c=1#frag"),
        ('<h3><a href="//cdn.example.net/x">A</a></h3>', "url", "https://cdn.example.net/x"),
        ('<h3>A</h3><p><a href="more.html">Read more</a></p>', "url", "https://example.org/news/more.html"),
        (
            '<h3><a href="https://other.org/"><span>Nested <b>bold</b></span>\n  title</a></h3>',
            "title",
            "Nested bold title",
        ),
        ("<h3><a href='/x'>Caf&eacute; &amp; care &#8211; &lt;b&gt;</a></h3>", "title", "Café & care – <b>"),
        ('<h3><a href="/x">A<script>alert(1)</script></a></h3>', "title", "A"),
        (
            '<h3><a href="/x">A</a></h3><div class="abstract"><p>Hi</p><script>alert(1)</script>'
            '<a href="javascript:alert(1)">x</a></div>',
            "summary_html",
            '<p>Hi</p><a rel="noopener noreferrer nofollow">x</a>',
        ),
        ('<h3><a href="/x">A</a></h3><div class="abstract">Tom &amp; Jerry</div>', "summary_html", "Tom &amp; Jerry"),
        ('<h3><a href="/x">A</a></h3><div class="abstract"> </div>', "summary_html", None),
        ('<h3><a href="/x">A</a></h3><span class="date">5 June 2024</span>', "published", utc(2024, 6, 5)),
        (
            '<h3><a href="/x">A</a></h3><span class="date"><time datetime="2024-06-05T09:00:00Z">last June</time></span>',
            "published",
            utc(2024, 6, 5, 9),
        ),
        ('<h3><a href="/x">A</a></h3><span class="date">date to be confirmed</span>', "published", None),
    ],
)
def test_edge_cases(item: str, field: str, expected: object) -> None:
    entry = one(f"<html><body><ul><li class='item'>{item}</li></ul></body></html>")
    assert entry is not None
    assert getattr(entry, field) == expected


@pytest.mark.parametrize(
    "item",
    [
        "<h3>No link at all</h3>",
        '<h3><a href="mailto:someone@example.org">Mail us</a></h3>',
        '<h3><a href="javascript:void(0)">Script link</a></h3>',
        '<h3><a href="/x"></a></h3>',  # empty title
        '<p><a href="/x">No title element</a></p>',
    ],
)
def test_entries_without_link_or_title_are_skipped(item: str) -> None:
    assert one(f"<html><body><ul><li class='item'>{item}</li></ul></body></html>") is None


def test_time_element_is_used_without_a_date_selector() -> None:
    config = selectors(container="article", title="h2")
    entry = one(
        '<html><body><article><h2><a href="/p">P</a></h2><time datetime="2025-01-08">8 Jan</time>'
        "</article></body></html>",
        config,
    )
    assert entry is not None and entry.published == utc(2025, 1, 8)


def test_explicit_link_selector_and_attribute_title() -> None:
    config = selectors(container=".card", title="img @alt", link="a.go @data-href", fields={"image": "img @src"})
    entry = one(
        '<html><body><div class="card"><img src="/i.png" alt=" Poster  title "><a class="go" href="#" '
        'data-href="/real">Go</a></div></body></html>',
        config,
    )
    assert entry is not None
    assert (entry.title, entry.url) == ("Poster title", "https://example.org/real")
    assert entry.extra == {"image": "https://example.org/i.png"}


def test_base_href_is_honoured() -> None:
    entry = one(
        '<html><head><base href="https://example.org/archive/2024/"></head><body><ul><li class="item">'
        '<h3><a href="post.html">A</a></h3></li></ul></body></html>'
    )
    assert entry is not None and entry.url == "https://example.org/archive/2024/post.html"


def test_meta_charset_decides_the_encoding() -> None:
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"></head><body>'
        '<ul><li class="item"><h3><a href="/x">Señora Müller’s café</a></h3></li></ul></body></html>'
    )
    entry = one(body.replace("’", "'").encode("iso-8859-1"))
    assert entry is not None and entry.title == "Señora Müller's café"


def test_utf8_bom_without_meta() -> None:
    entry = one(
        b"\xef\xbb\xbf<html><body><ul><li class='item'><h3><a href='/x'>\xc3\xa9t\xc3\xa9</a></h3></li></ul>"
        b"</body></html>"
    )
    assert entry is not None and entry.title == "été"


def test_no_match_is_an_empty_list_not_an_error() -> None:
    assert parse_page(b"<html><body><p>Redesigned site</p></body></html>", BASE, SIMPLE) == []


def test_max_entries() -> None:
    items = "".join(f'<li class="item"><h3><a href="/{n}">{n}</a></h3></li>' for n in range(10))
    entries = parse_page(f"<html><body><ul>{items}</ul></body></html>".encode(), BASE, SIMPLE, max_entries=3)
    assert [e.title for e in entries] == ["0", "1", "2"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b'{"items": []}',
        b"\x89PNG\r\n\x1a\n\x00\x00",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
        b"just some words",
    ],
)
def test_not_html_is_a_parse_error(body: bytes) -> None:
    assert not is_html(body)
    with pytest.raises(ParseError):
        parse_page(body, BASE, SIMPLE)


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html></html>",
        b"\xef\xbb\xbf<html><body></body></html>",
        "<html><body>é</body></html>".encode("utf-16"),
        b"<div>fragment</div>",
    ],
)
def test_is_html(body: bytes) -> None:
    assert is_html(body)


def test_invalid_selector_is_refused_when_the_config_loads() -> None:
    # sources.yaml compiles every selector at load, so a page is never parsed with a broken one
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a valid CSS selector"):
        selectors(container="li[", title="h3")
