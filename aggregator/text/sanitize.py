"""Sanitising fetched HTML (nh3) and turning it into bounded plain text; idempotent by design."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

# Tags a summary may keep: text structure, links and simple images. Everything else (script, style,
# form, iframe, svg, event attributes) is removed by nh3's allow-list.
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "cite",
        "code",
        "dd",
        "div",
        "dl",
        "dt",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
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


def make_cleaner(base_url: str | None) -> nh3.Cleaner:
    """An nh3 Cleaner with the project's allow-list, making relative links absolute against `base_url`.

    The links are resolved by nh3 itself (ammonia's `rewrite_with_base`, WHATWG URL rules), not by a Python
    callback: a callback takes the GIL back for every link, so the fetch threads' sanitising ran one at a
    time (and at half the speed). A base nh3 cannot parse (a feed's xml:base is fetched text) resolves
    nothing, so relative links are dropped rather than the feed failing. A Cleaner holds no per-call state:
    build it once (per feed) and share it.
    """
    options = {
        "tags": set(ALLOWED_TAGS),
        "attributes": {k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        "url_schemes": set(URL_SCHEMES),
        "link_rel": "noopener noreferrer nofollow",
        "strip_comments": True,
    }
    if not base_url:
        return nh3.Cleaner(**options)
    try:
        return nh3.Cleaner(**options, url_relative=("rewrite_with_base", base_url))
    except ValueError:  # e.g. "http://256.1.1.1/", "https://[::1": no link can be made absolute against it
        return nh3.Cleaner(**options, url_relative="deny")


_CLEANER = make_cleaner(None)


def clean_with(cleaner: nh3.Cleaner, fragment: str) -> str:
    """`fragment` cleaned by `cleaner` until cleaning changes nothing more (so sanitising is idempotent:
    html5ever can build a tree that serialises into markup parsing into another); controls are removed
    before and after, since numeric character references (&#1;) decode to them inside nh3."""
    cleaned = _CONTROL.sub("", cleaner.clean(_CONTROL.sub("", fragment)))
    for _ in range(MAX_PASSES - 1):
        again = _CONTROL.sub("", cleaner.clean(cleaned))
        if again == cleaned:
            break
        cleaned = again
    return cleaned


def strip_controls(text: str) -> str:
    """`text` without C0 controls (but tab, newline, carriage return), DEL and lone surrogates."""
    return _CONTROL.sub("", text)


def clean_html(fragment: str | None, base_url: str | None = None) -> str:
    """Return `fragment` with only safe tags, attributes and http(s)/mailto URLs; links made absolute."""
    if not fragment:
        return ""
    return clean_with(make_cleaner(base_url) if base_url else _CLEANER, fragment)


# Elements after which a browser starts a new line: their text must not run into the next ("A.</p><p>B").
_BLOCK_BOUNDARY = re.compile(
    r"(?=<(?:/?(?:p|div|li|ul|ol|dl|dt|dd|h[1-6]|blockquote|pre|table|tr|td|th|section|article|header|footer"
    r"|aside|nav|figure|figcaption|address|main)|br|hr)\b)",
    re.IGNORECASE,
)


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, block elements and breaks kept apart by a space,
    entities decoded, whitespace folded, controls removed."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = _BLOCK_BOUNDARY.sub(" ", fragment)
    # nh3 escapes text when it drops tags; decode once so "&amp;" in the source becomes "&".
    return _fold_space(_CONTROL.sub("", html.unescape(_TEXT_ONLY.clean(_CONTROL.sub("", fragment)))))


def clean_text(value: str | None) -> str:
    """A single line of plain text: controls removed, whitespace folded (titles, names)."""
    if not value:
        return ""
    return _fold_space(_CONTROL.sub("", value))


def _fold_space(text: str) -> str:
    return " ".join(text.split())


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
