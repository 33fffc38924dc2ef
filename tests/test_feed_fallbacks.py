"""Feed reading fallbacks (issue 14, item 8): content as the summary, links other than HTML, RFC 4287 content types."""

from __future__ import annotations

import logging

import pytest

from aggregator.ingest.adapters.feed import parse_feed

BASE = "http://example.org/"
ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
<id>urn:feed</id><updated>2024-01-01T00:00:00Z</updated>{}</feed>"""
RSS = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>t</title><link>http://example.org/</link><description>d</description>{}</channel></rss>"""


def atom_entry(body: str) -> str:
    return f"<entry><title>T</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>{body}</entry>"


def read(document: str, with_content: bool = False) -> list:
    return parse_feed(document.encode(), BASE, with_content=with_content)


@pytest.mark.parametrize(
    "document, summary",
    [
        (
            RSS.format(
                "<item><title>T</title><link>http://example.org/a</link><description></description>"
                "<content:encoded><![CDATA[<p>Body</p>]]></content:encoded></item>"
            ),
            "<p>Body</p>",
        ),
        (
            RSS.format(
                "<item><title>T</title><link>http://example.org/a</link>"
                "<content:encoded><![CDATA[<p>Body</p>]]></content:encoded></item>"
            ),
            "<p>Body</p>",
        ),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
            '[{"id": "1", "url": "http://example.org/a", "content_html": "<p>Body</p>"}]}',
            "<p>Body</p>",
        ),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
            '[{"id": "1", "url": "http://example.org/a", "summary": " ", "content_text": "Body & more"}]}',
            "Body &amp; more",
        ),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
            '[{"id": "1", "url": "http://example.org/a", "summary": "Own", "content_html": "<p>Body</p>"}]}',
            "Own",
        ),
    ],
)
def test_an_empty_summary_falls_back_to_the_content_even_without_content(document: str, summary: str) -> None:
    [entry] = read(document)
    assert entry.summary_html == summary
    assert entry.content_html is None  # with_content=False still leaves the content out


@pytest.mark.parametrize(
    "document, url",
    [
        (
            ATOM.format(
                atom_entry(
                    '<link rel="alternate" type="application/pdf" href="http://example.org/r.pdf"/><summary>s</summary>'
                )
            ),
            "http://example.org/r.pdf",
        ),
        (
            ATOM.format(
                atom_entry(
                    '<link rel="enclosure" type="audio/mpeg" href="http://example.org/e.mp3"/><summary>s</summary>'
                )
            ),
            "http://example.org/e.mp3",
        ),
        (
            RSS.format(
                '<item><title>T</title><enclosure url="http://example.org/e.mp3" type="audio/mpeg" length="1"/>'
                "<description>d</description></item>"
            ),
            "http://example.org/e.mp3",
        ),
        (
            RSS.replace("<rss ", '<rss xmlns:media="http://search.yahoo.com/mrss/" ').format(
                '<item><title>T</title><media:content url="http://example.org/v.mp4" type="video/mp4"/></item>'
            ),
            "http://example.org/v.mp4",
        ),
        (
            RSS.format(
                '<item><title>T</title><guid isPermaLink="false">http://example.org/g</guid>'
                "<description>d</description></item>"
            ),
            "http://example.org/g",
        ),
        (
            RSS.format(
                "<item><title>T</title><link>http://example.org/page</link>"
                '<enclosure url="http://example.org/e.mp3" type="audio/mpeg" length="1"/></item>'
            ),
            "http://example.org/page",
        ),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "content_text": "x", '
            '"attachments": [{"url": "/r.pdf", "mime_type": "application/pdf"}]}]}',
            "http://example.org/r.pdf",
        ),
        (
            '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
            '[{"id": "http://example.org/by-id", "content_text": "x"}]}',
            "http://example.org/by-id",
        ),
    ],
)
def test_an_entry_without_an_html_link_keeps_the_best_link_it_has(document: str, url: str) -> None:
    [entry] = read(document)
    assert entry.url == url


@pytest.mark.parametrize(
    "document",
    [
        RSS.format('<item><title>T</title><guid isPermaLink="false">tag:x</guid><description>d</description></item>'),
        '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [{"id": "1", "content_text": "x"}]}',
    ],
)
def test_an_entry_with_no_link_at_all_is_counted_in_the_log(document: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="aggregator.ingest.adapters"):
        assert read(document) == []
    assert [r.count for r in caplog.records if "without any http(s) link" in r.getMessage()] == [1]


@pytest.mark.parametrize(
    "content, html",
    [
        (
            "<content>&lt;div&gt;A &amp;amp; B&lt;/div&gt;</content>",
            "&lt;div&gt;A &amp;amp; B&lt;/div&gt;",
        ),  # no type: text
        ('<content type="text">&lt;b&gt;A&lt;/b&gt;</content>', "&lt;b&gt;A&lt;/b&gt;"),
        ('<content type="html">&lt;p&gt;A &amp;amp; B&lt;/p&gt;</content>', "<p>A &amp; B</p>"),
        ('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>A</p></div></content>', "<p>A</p>"),
        ('<content type="text/html">&lt;p&gt;A&lt;/p&gt;</content>', "<p>A</p>"),
    ],
)
def test_atom_content_is_read_by_its_rfc_4287_type(content: str, html: str) -> None:
    document = ATOM.format(atom_entry(f'<link href="http://example.org/a"/>{content}'))
    [entry] = read(document, with_content=True)
    assert entry.content_html == html
    [summary_only] = read(document)
    assert summary_only.summary_html == html  # the summary taken from the content keeps the content's type
