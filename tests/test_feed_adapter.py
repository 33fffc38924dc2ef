"""Edge cases of the feed adapter: hostile markup, URL resolution, formats, limits and any-bytes robustness."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.ingest.adapters.discover import discover_feeds
from aggregator.ingest.adapters.feed import parse_feed, parse_with_feedparser
from aggregator.text.sanitize import clean_html

BASE = "https://partner.example.org/feed/"
UTC = UTC


def rss(items: str, *, namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {namespaces}><channel>'
        f"<title>T</title><link>https://partner.example.org/</link>{items}</channel></rss>"
    ).encode()


def rss_item(description: str, *, title: str = "Kindness", link: str = "https://partner.example.org/a") -> bytes:
    return rss(f"<item><title>{title}</title><link>{link}</link><description>{description}</description></item>")


def atom(entries: str, *, feed_attrs: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" {feed_attrs}>'
        f"<title>T</title><id>urn:x</id><updated>2024-01-01T00:00:00Z</updated>{entries}</feed>"
    ).encode()


def both_paths(body: bytes):
    """parse_feed's result, which for XML is feedparser's reading."""
    entries = parse_feed(body, BASE)
    assert entries == parse_with_feedparser(body, BASE)
    return entries


@pytest.mark.parametrize(
    "description",
    [
        '&lt;a href="&amp;#106;avascript:alert(1)"&gt;x&lt;/a&gt;',
        '<![CDATA[<a href="&#106;avascript:alert(1)">x</a>]]>',
        '<![CDATA[<a href="javascript:alert(1)">x</a>]]>',
        '<![CDATA[<a href="JaVaScRiPt:alert(1)">x</a>]]>',
        '<![CDATA[<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>]]>',
        '<![CDATA[<a href=" javascript:alert(1)">x</a>]]>',
    ],
)
def test_dangerous_links_are_stripped_from_summaries(description: str) -> None:
    (entry,) = both_paths(rss_item(description))
    assert "javascript" not in entry.summary_html.lower()
    assert "data:" not in entry.summary_html
    assert "&#106;" not in entry.summary_html
    assert "x" in entry.summary_html


@pytest.mark.parametrize(
    "fragment",
    [
        "<![CDATA[<p>ok</p><script>alert(1)</script>]]>",
        '<![CDATA[<p>ok</p><img src="x.png" onerror="alert(1)">]]>',
        '<![CDATA[<p onclick="alert(1)">ok</p><style>p{}</style><iframe src="https://evil.example"></iframe>]]>',
    ],
)
def test_scripts_and_event_attributes_are_removed(fragment: str) -> None:
    (entry,) = both_paths(rss_item(fragment))
    lowered = entry.summary_html.lower()
    for bad in ("<script", "alert", "onerror", "onclick", "<style", "<iframe"):
        assert bad not in lowered
    assert "ok" in entry.summary_html


@pytest.mark.parametrize(
    "body, url, link_in_summary",
    [
        (
            rss_item('<![CDATA[<a href="/about">a</a> <img src="img/x.png">]]>', link="/posts/1"),
            "https://partner.example.org/posts/1",
            'href="https://partner.example.org/about"',
        ),
        (
            atom(
                "<entry><title>E</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>"
                '<link href="posts/2"/><summary type="html">&lt;a href="x"&gt;a&lt;/a&gt;</summary></entry>'
            ),
            "https://partner.example.org/feed/posts/2",
            'href="https://partner.example.org/feed/x"',
        ),
        (
            atom(
                '<entry xml:base="/base/"><title>E</title><id>urn:1</id><updated>2024-01-01T00:00:00Z</updated>'
                '<link href="posts/3"/><summary type="html">&lt;a href="y"&gt;a&lt;/a&gt;</summary></entry>',
                feed_attrs='xml:base="https://other.example.org/root/"',
            ),
            "https://other.example.org/base/posts/3",
            'href="https://other.example.org/base/y"',
        ),
    ],
)
def test_relative_links_resolve_against_base_url_and_xml_base(body: bytes, url: str, link_in_summary: str) -> None:
    (entry,) = both_paths(body)
    assert entry.url == url
    assert link_in_summary in entry.summary_html


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Fish &amp;amp; Chips", "Fish & Chips"),
        ("Caf&#233; &amp; care", "Café & care"),
        ("<![CDATA[Compassion <b>in</b> care]]>", "Compassion in care"),
        ("<![CDATA[1 < 2 & 3 > 2]]>", "1 < 2 & 3 > 2"),
        ("  spaced\n  out  ", "spaced out"),
    ],
)
def test_titles_are_plain_text(title: str, expected: str) -> None:
    (entry,) = both_paths(rss_item("d", title=title))
    assert entry.title == expected


def test_atom_html_title_and_text_summary() -> None:
    body = atom(
        '<entry><title type="html">A &lt;em&gt;kind&lt;/em&gt; word</title><id>https://p.example.org/1</id>'
        "<updated>2024-02-03T04:05:06+01:00</updated><summary>1 &lt; 2</summary></entry>"
    )
    (entry,) = both_paths(body)
    assert entry.title == "A kind word"
    assert entry.url == "https://p.example.org/1"
    assert entry.updated == datetime(2024, 2, 3, 3, 5, 6, tzinfo=UTC)
    assert entry.summary_html == "1 &lt; 2"


def test_wordpress_item_fields() -> None:
    body = rss(
        """<item><title>Compassion in practice</title><link>https://partner.example.org/2024/05/c/</link>
      <dc:creator><![CDATA[Jo Bloggs]]></dc:creator><pubDate>Tue, 07 May 2024 09:30:00 +0100</pubDate>
      <category><![CDATA[Events]]></category><category>Kindness</category>
      <guid isPermaLink="false">https://partner.example.org/?p=123</guid>
      <description><![CDATA[<p>Short</p>]]></description>
      <content:encoded><![CDATA[<p>Long <a href="/x">x</a></p>]]></content:encoded>
      <enclosure url="https://cdn.example.org/talk.mp3" length="1" type="audio/mpeg"/>
      <media:thumbnail url="/img/t.jpg"/></item>""",
        namespaces='xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:media="http://search.yahoo.com/mrss/"',
    )
    (entry,) = both_paths(body)
    assert entry.published == datetime(2024, 5, 7, 8, 30, tzinfo=UTC)
    assert entry.guid == "https://partner.example.org/?p=123"
    assert entry.authors == ("Jo Bloggs",)
    assert entry.tags == ("Events", "Kindness")
    assert entry.summary_html == "<p>Short</p>"
    assert 'href="https://partner.example.org/x"' in entry.content_html
    assert entry.image_url == "https://partner.example.org/img/t.jpg"
    assert entry.extra["enclosure"] == "https://cdn.example.org/talk.mp3"
    assert parse_with_feedparser(body, BASE) == [entry]


def test_rdf_feed() -> None:
    body = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <channel rdf:about="https://p.example.org/"><title>T</title><link>https://p.example.org/</link></channel>
      <item rdf:about="https://p.example.org/1"><title>One</title><link>https://p.example.org/1</link>
      <dc:date>2024-03-01T10:00:00Z</dc:date></item></rdf:RDF>"""
    (entry,) = parse_feed(body, BASE)
    assert (entry.title, entry.url) == ("One", "https://p.example.org/1")
    assert entry.updated == datetime(2024, 3, 1, 10, tzinfo=UTC)


def test_json_feed() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "T",
            "items": [
                {
                    "id": "1",
                    "url": "/p/1",
                    "title": "One",
                    "content_html": "<p>Hi<script>x()</script></p>",
                    "date_published": "2024-01-02T03:04:05.678-05:00",
                    "tags": ["care"],
                    "authors": [{"name": "A"}],
                    "image": "https://p.example.org/i.png",
                    "attachments": [{"url": "https://p.example.org/v.mp4", "mime_type": "video/mp4"}],
                },
                {"id": "2", "content_text": "no link"},
            ],
        }
    ).encode()
    (entry,) = parse_feed(body, BASE, content_type="application/feed+json")
    assert entry.url == "https://partner.example.org/p/1"
    assert entry.content_html == "<p>Hi</p>"
    assert entry.published == datetime(2024, 1, 2, 8, 4, 5, tzinfo=UTC)
    assert (entry.tags, entry.authors, entry.image_url) == (("care",), ("A",), "https://p.example.org/i.png")
    assert entry.extra["enclosure"] == "https://p.example.org/v.mp4"


@pytest.mark.parametrize(
    "item",
    [
        "<item><title>No link</title><description>d</description></item>",
        "<item><title>Bad link</title><link>javascript:alert(1)</link></item>",
        '<item><title>Tag guid</title><guid isPermaLink="false">tag:x,2024:1</guid></item>',
    ],
)
def test_entries_without_a_usable_link_are_skipped(item: str) -> None:
    body = rss(item + "<item><title>Kept</title><link>https://p.example.org/k</link></item>")
    assert [e.title for e in both_paths(body)] == ["Kept"]


def test_permalink_guid_stands_in_for_a_missing_link() -> None:
    (entry,) = both_paths(rss("<item><title>G</title><guid>https://p.example.org/g</guid></item>"))
    assert entry.url == "https://p.example.org/g"


def test_a_huge_feed_is_capped() -> None:
    items = "".join(f"<item><title>n{i}</title><link>https://p.example.org/{i}</link></item>" for i in range(20_000))
    entries = parse_feed(rss(items), BASE, max_entries=50)
    assert [e.title for e in entries] == [f"n{i}" for i in range(50)]


def test_an_old_rss_version_caps_too() -> None:
    items = "".join(f"<item><title>n{i}</title><link>https://p.example.org/{i}</link></item>" for i in range(30))
    body = rss(items).replace(b'version="2.0"', b'version="0.92"')
    assert len(parse_feed(body, BASE, max_entries=7)) == 7


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><title>&lol9;</title><link>https://p.example.org/1</link><description>&lol9;</description></item>
</channel></rss>"""

QUADRATIC = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]><rss version="2.0"><channel>'
    + b"<item><title>t</title><link>https://p.example.org/1</link><description>"
    + b"&a;" * 50_000
    + b"</description></item></channel></rss>"
)

EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY ext SYSTEM "file:///etc/passwd">
<!ENTITY net SYSTEM "http://127.0.0.1:9/x">]><rss version="2.0"><channel>
<item><title>a&ext;b&net;</title><link>https://p.example.org/1</link></item></channel></rss>"""


# A 3 MB body of 64-byte entities: the quadratic case the outside probe used (25 s of CPU before).
SHORT_ENTITIES = (
    b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "' + b"y" * 64 + b'">]><rss version="2.0">'
    b"<channel><item><title>t</title><link>https://p.example.org/1</link><description>"
    + b"&e;" * 1_000_000
    + b"</description></item></channel></rss>"
)
PARAMETER = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY % p SYSTEM "http://127.0.0.1:9/evil.dtd"> %p;]>
<rss version="2.0"><channel><item><title>t</title><link>https://p.example.org/1</link></item></channel></rss>"""
UTF16 = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE rss [<!ENTITY a "b">]><rss version="2.0"/>'.encode("utf-16")


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, QUADRATIC, EXTERNAL, SHORT_ENTITIES, PARAMETER, UTF16],
    ids=["billion-laughs", "quadratic", "external", "short-entities", "parameter", "utf-16"],
)
def test_entity_declarations_are_refused_before_parsing(body: bytes) -> None:
    with pytest.raises(ParseError, match="declares an XML entity"):
        parse_feed(body, BASE)


def test_a_doctype_without_entities_is_read() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">' + rss_item("x").split(b"?>", 1)[1]
    )
    assert [e.title for e in parse_feed(body, BASE)] == ["Kindness"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n",
        b"\x00\x01\x02garbage\xff",
        b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>Hello</p></body></html>",
        b'{"not": "a feed"}',
        b"[1, 2, 3]",
        b"{",
        b"plain text, not markup",
    ],
)
def test_non_feeds_raise_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, BASE)


def test_empty_but_valid_feed_gives_no_entries() -> None:
    assert parse_feed(rss(""), BASE) == []


def test_ill_formed_feed_with_entries_yields_them() -> None:
    body = rss_item("a & b <br>").replace(b"</channel></rss>", b"")
    assert [e.title for e in parse_feed(body, BASE)] == ["Kindness"]


def test_autodiscovery_from_an_html_page() -> None:
    page = b"""<!DOCTYPE html><html><head><base href="https://partner.example.org/blog/">
      <link rel="alternate" type="application/rss+xml" title="Posts" href="feed/">
      <link rel="stylesheet" href="s.css"><link rel="alternate" type="text/html" href="/fr/">
      <link rel="alternate" type="application/atom+xml" href="https://partner.example.org/atom.xml">
      <link rel="alternate" type="application/feed+json" href="/feed.json">
      <link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">
      <link rel="alternate" type="application/rss+xml" href="feed/"></head><body></body></html>"""
    assert discover_feeds(page, "https://partner.example.org/") == [
        "https://partner.example.org/blog/feed/",
        "https://partner.example.org/atom.xml",
        "https://partner.example.org/feed.json",
    ]
    with pytest.raises(ParseError):
        parse_feed(page, "https://partner.example.org/")


@pytest.mark.parametrize(
    "fragment",
    [
        '<p>ok <a href="/x" onclick="y()">x</a> &amp; <img src="i.png" onerror="z"></p>',
        '<a href="&#106;avascript:alert(1)">j</a><script>x</script>',
        "1 &lt; 2 &amp;&amp; <b>bold</b>",
    ],
)
def test_sanitising_twice_changes_nothing(fragment: str) -> None:
    (entry,) = both_paths(rss_item(f"<![CDATA[{fragment}]]>"))
    assert clean_html(entry.summary_html, BASE) == entry.summary_html


def _assert_list_or_parse_error(body: bytes) -> None:
    try:
        entries = parse_feed(body, BASE)
    except ParseError:
        return
    assert isinstance(entries, list)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_any_bytes_give_a_list_or_parse_error(body: bytes) -> None:
    _assert_list_or_parse_error(body)


XMLISH = st.lists(
    st.sampled_from(
        [
            "<rss version='2.0'>",
            "<channel>",
            "<item>",
            "</item>",
            "<title>",
            "</title>",
            "<link>",
            "</link>",
            "https://p.example.org/",
            "<![CDATA[",
            "]]>",
            "&amp;",
            "&#106;",
            "&lol;",
            "<guid>",
            "</guid>",
            "<feed xmlns='http://www.w3.org/2005/Atom'>",
            "<entry>",
            "</entry>",
            "<link href='/a'/>",
            "</feed>",
            "<pubDate>",
            "</pubDate>",
            "Tue, 07 May 2024 09:30:00 +0100",
            "<updated>",
            "2024-13-40T99:00:00Z",
            "</updated>",
            '<?xml version="1.0" encoding="utf-8"?>',
            "<!DOCTYPE x [<!ENTITY lol 'l'>]>",
            "{",
            '"items":',
            "[",
            "]",
            "}",
            "\x00",
            "é",
            "<",
            ">",
            "</channel></rss>",
            "<description>",
            "</description>",
            "javascript:",
        ]
    ),
    max_size=60,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(XMLISH, st.sampled_from(["utf-8", "utf-16", "latin-1"]))
def test_any_xmlish_text_gives_a_list_or_parse_error(text: str, encoding: str) -> None:
    _assert_list_or_parse_error(text.encode(encoding, "replace"))


URL_PIECES = st.lists(
    st.sampled_from(
        [
            "https://",
            "http://",
            "HTTPS://",
            "//",
            "/",
            "a",
            "x.org",
            "?",
            "#",
            ";",
            "?#",
            "&amp;",
            " ",
            "\t",
            "[",
            "]",
            "..",
            ":",
            "8080",
            "@",
            "%20",
            "é",
            "javascript:",
            "mailto:",
            "data:",
            "\\",
            "\x01",
        ]
    ),
    max_size=12,
).map("".join)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # clean_html's urljoin raising
@settings(max_examples=300, deadline=None)
@given(URL_PIECES)
def test_feed_cleaner_equals_clean_html(url: str) -> None:
    # The per-feed nh3.Cleaner must give exactly what sanitize.clean_html gives, for any URL.
    from aggregator.ingest.adapters.fields import make_cleaner, sanitised_html

    fragment = f'<p><a href="{url}">a</a><img src="{url}"></p>'
    assert sanitised_html(fragment, True, make_cleaner(BASE)) == (clean_html(fragment, BASE).strip() or None)


@pytest.mark.parametrize(
    ("fragment", "text"),
    [
        ("<p>Hi friends!</p><p>I am</p>", "Hi friends! I am"),
        ("<div>A.</div><div>B</div>", "A. B"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("<h1>Title</h1>Body", "Title Body"),
        ("line<br>break<br/>again", "line break again"),
        ("<td>a</td><td>b</td>", "a b"),
        ("a <b>bold</b><i>italic</i> c", "a bolditalic c"),
    ],
)
def test_block_elements_and_breaks_keep_text_apart(fragment: str, text: str) -> None:
    from aggregator.text.sanitize import html_to_text

    assert html_to_text(fragment) == text
