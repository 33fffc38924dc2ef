"""Sanitising fetched HTML (nh3) and turning it into bounded plain text; idempotent by design."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import nh3

# Tags a summary may keep: text structure, links and simple images. Everything else (script, style,
# form, iframe, svg, event attributes) is removed by nh3's allow-list.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "q", "s",
    "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# C0 controls and DEL, and lone surrogates: a JSON "\ud800" escape decodes to one, which UTF-8 (and
# so nh3 and the database) cannot encode.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Built once: nh3.clean() builds its cleaner on every call, which costs as much as the cleaning.
# A Cleaner holds no per-call state, so threads share it.
_TEXT_ONLY = nh3.Cleaner(tags=set(), strip_comments=True)
MAX_PASSES = 3  # html5ever can build a tree that serialises into markup parsing into another: clean again


def join_link(base_url: str, value: str) -> str | None:
    """`value` made absolute against `base_url`; None (nh3 then drops the attribute) when that fails or
    gives an http(s) URL without a host ("//:" -> "https://:"), which a second cleaning would drop anyway."""
    try:
        joined = urljoin(base_url, value)
        parts = urlsplit(joined)
        if parts.scheme in ("http", "https") and not parts.hostname:
            return None
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return joined


def make_cleaner(base_url: str | None, *, is_absolute: Callable[[str], bool] = lambda value: False) -> nh3.Cleaner:
    """An nh3 Cleaner with the project's allow-list, making links absolute against `base_url`.

    `is_absolute` may say which values need no joining (a fast path: joining must leave them unchanged).
    A Cleaner holds no per-call state: build it once (per feed) and share it between threads.
    """
    def filter_attribute(element: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src") and base_url and not is_absolute(value):
            return join_link(base_url, value)
        return value

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        attribute_filter=filter_attribute if base_url else None,
        strip_comments=True,
    )


_CLEANER = make_cleaner(None)


def clean_with(cleaner: nh3.Cleaner, fragment: str) -> str:
    """`fragment` cleaned by `cleaner` until cleaning changes nothing more (so sanitising is idempotent);
    controls are removed before, and after when numeric character references (&#1;), which decode inside
    nh3, could have made some."""
    fragment = _CONTROL.sub("", fragment)
    cleaned = cleaner.clean(fragment)
    if "&#" in fragment:  # of references, only numeric ones decode to controls (named: tab and newline)
        cleaned = _CONTROL.sub("", cleaned)
    if is_plain_markup(cleaned):
        return cleaned
    for _ in range(MAX_PASSES - 1):
        again = _CONTROL.sub("", cleaner.clean(cleaned))
        if again == cleaned:
            break
        cleaned = again
    return cleaned


# Serialised markup the HTML parser reads back into the same tree, so cleaning it again changes nothing:
# text without carriage returns (the parser turns them into newlines), and only paragraphs, links and
# inline elements, every "<" starting one of their tags (none inside an attribute value).
_PLAIN_TAG_NAMES = r"p|a|b|i|em|strong|span|code|small|sub|sup|s|u|abbr|cite|q|br|img"
_PLAIN_TAG = re.compile(rf'<(/?)({_PLAIN_TAG_NAMES})(?: [a-z]++="[^"<]*+")*+>')
# The same tags without groups, for re.split: it then returns only the text between them.
_PLAIN_TAG_SPLIT = re.compile(rf'</?(?:{_PLAIN_TAG_NAMES})(?: [a-z]++="[^"<]*+")*+>')
_PLAIN_MARKUP = re.compile(rf'(?:[^<\r]++|{_PLAIN_TAG.pattern})*+')


def plain_tags(markup: str) -> list[tuple[str, str]] | None:
    """The ("/" or "", name) of every tag of `markup` when it matches _PLAIN_MARKUP, else None; shown without
    scanning its text character by character: a plain tag holds one "<" (its first character), so every
    "<" starts one when as many are found."""
    if "\r" in markup:
        return None
    tags = _PLAIN_TAG.findall(markup)
    return tags if len(tags) == markup.count("<") else None


def is_plain_markup(markup: str) -> bool:
    """True when `markup` (nh3's output) is one the parser cannot re-nest: paragraphs, links and inline
    elements only, no paragraph inside a paragraph and no link inside a link (the parser closes the
    outer one first; such trees come from removing an element that stood between them)."""
    tags = plain_tags(markup)
    if tags is None:
        return False
    open_p = open_a = False
    for closing, tag in tags:
        if tag == "p":
            if not closing and open_p:
                return False
            open_p = not closing
        elif tag == "a":
            if not closing and open_a:
                return False
            open_a = not closing
    return True


def strip_controls(text: str) -> str:
    """`text` without C0 controls (but tab, newline, carriage return), DEL and lone surrogates."""
    return _CONTROL.sub("", text)


def clean_html(fragment: str | None, base_url: str | None = None) -> str:
    """Return `fragment` with only safe tags, attributes and http(s)/mailto URLs; links made absolute."""
    if not fragment:
        return ""
    return clean_with(make_cleaner(base_url) if base_url else _CLEANER, fragment)


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace folded, controls removed."""
    if not fragment:
        return ""
    fragment = _CONTROL.sub("", fragment)
    if "&#" not in fragment and "\r" not in fragment:
        # Plain markup (most sanitised summaries) parses into exactly its own tags and text: dropping the
        # tags leaves the text the parser would, its character references still to decode. Numeric ones
        # are left to the parser: it keeps noncharacters and C1 controls that html.unescape drops; named
        # ones decode to no control but tab and newline, so the text needs no second pass.
        # Splitting at plain tags both shows the markup plain (as plain_tags does: one piece more than
        # there are "<") and gives the text between them, in one scan.
        pieces = _PLAIN_TAG_SPLIT.split(fragment)
        if len(pieces) == fragment.count("<") + 1:
            return _fold_space(html.unescape("".join(pieces)))
    # nh3 escapes text when it drops tags; decode once so "&amp;" in the source becomes "&".
    return _fold_space(_CONTROL.sub("", html.unescape(_TEXT_ONLY.clean(fragment))))


def clean_text(value: str | None) -> str:
    """A single line of plain text: controls removed, whitespace folded (titles, names)."""
    if not value:
        return ""
    if is_clean_line(value):  # most values, and every value cleaned before
        return value
    return _fold_space(_CONTROL.sub("", value))


def is_clean_line(text: str) -> bool:
    """True when clean_text would return `text` unchanged, shown without building anything: a printable
    string has no controls and no whitespace but the space (str.isprintable is False for every other
    character str.split splits on), so it is folded when no space leads, trails or follows another."""
    return text.isprintable() and "  " not in text and not text.startswith(" ") and not text.endswith(" ")


def _fold_space(text: str) -> str:
    # str.split() splits on exactly the characters the regex \s matches (str.isspace), several
    # times faster than re.sub on long text. Text whose only whitespace besides single spaces is single
    # line breaks between words (paragraphs of a summary) is folded by replacing them, which costs a
    # tenth of splitting it into words: is_clean_line then shows nothing else is left to fold.
    flat = text.replace("\n", " ")
    return flat if is_clean_line(flat) else " ".join(text.split())


def truncate_text(text: str, limit: int) -> str:
    """Cut `text` at a word boundary to at most `limit` characters, marking the cut with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def is_http_url(value: str | None) -> bool:
    """True when `value` is an absolute http(s) URL with a host."""
    if not value:
        return False
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)
