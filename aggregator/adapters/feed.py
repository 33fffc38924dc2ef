"""The feed adapter: RSS, RDF, Atom and JSON Feed bytes plus their base URL in, RawEntry values out."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import feedparser
import nh3

from aggregator.adapters import fastfeed, jsonfeed
from aggregator.adapters.fields import (
    HTML_TYPES,
    datetime_from_struct,
    entry_url,
    make_cleaner,
    pick_media,
    plain_title,
    sanitised_html,
    unique_texts,
)
from aggregator.errors import ParseError
from aggregator.model import RawEntry

logger = logging.getLogger(__name__)

_ENTITY_DECLARATION = re.compile(rb"<!ENTITY\s+%?\s*[\w.:-]+\s+(?:\"([^\"]*)\"|'([^']*)')")
# feedparser re-declares "safe" internal entities for its fallback parser, which does not bound
# expansion; capping their length bounds any blow-up to a small multiple of the body size.
_MAX_ENTITY_VALUE = 64
_TEXT_TYPES = HTML_TYPES | {"text/plain"}


def parse_feed(body: bytes, base_url: str, *, content_type: str | None = None,
               max_entries: int = 10_000, with_content: bool = True) -> list[RawEntry]:
    """Entries of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document, at most `max_entries` of them.

    Relative links resolve against `base_url` (and xml:base); summaries are sanitised with nh3.
    `with_content=False` leaves content_html None, which saves most of the sanitising time; the
    summary still falls back to the content when an entry has no summary of its own.
    Raises ParseError when `body` is not a feed at all; a damaged feed yields what can be read.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the response body as bytes")
    body = bytes(body)
    if not body or body.isspace():  # as `not body.strip()`, without copying the body
        raise ParseError("the response body is empty")
    if max_entries <= 0:
        return []
    if jsonfeed.is_json(body, content_type):
        return jsonfeed.parse_json_feed(body, base_url, max_entries=max_entries, with_content=with_content)
    # The fast path reads no document that declares anything (it looks for "<!ENTITY" in the whole body
    # first), so only feedparser's readings need the entity check.
    entries = fastfeed.parse_fast(body, base_url, content_type=content_type, max_entries=max_entries,
                                  with_content=with_content)
    if entries is not None:
        return entries
    check_entities(body)
    return parse_with_feedparser(body, base_url, content_type=content_type, max_entries=max_entries,
                                 with_content=with_content)


def check_entities(body: bytes) -> None:
    """Refuse documents declaring long internal entities (the "quadratic blow-up" attack)."""
    if body.find(b"<!ENTITY", 0, 65536) < 0:  # as `not in body[:65536]`, without copying the head
        return
    head = body[:65536]
    for match in _ENTITY_DECLARATION.finditer(head):
        value = match[1] if match[1] is not None else match[2]
        if len(value) > _MAX_ENTITY_VALUE:
            raise ParseError("the feed declares an entity longer than 64 bytes",
                             hint="entity declarations like this are used to exhaust memory; the feed is refused")


def parse_with_feedparser(body: bytes, base_url: str, *, content_type: str | None = None,
                          max_entries: int = 10_000, with_content: bool = True) -> list[RawEntry]:
    """Entries of any feed feedparser reads, mapped by the same field rules as the fast path."""
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # Bytes, never a URL: feedparser must not open anything itself.
        result = feedparser.parse(body, response_headers=headers)
    except Exception as error:  # feedparser's own bugs on hostile input are a parse failure of that input
        logger.warning("feedparser failed", extra={"url": base_url, "error": repr(error)})
        raise ParseError(f"the feed could not be parsed: {error!r}") from error
    raw_entries = result.get("entries") or []
    if not result.get("version") and not raw_entries:
        reason = result.get("bozo_exception")
        raise ParseError("the document is not an RSS, Atom or JSON feed"
                         + (f" ({reason})" if reason else ""))
    if result.get("bozo") and raw_entries:
        logger.info("ill-formed feed read leniently",
                    extra={"url": base_url, "count": len(raw_entries), "error": str(result.get("bozo_exception"))})
    entries: list[RawEntry] = []
    cleaner = make_cleaner(base_url)
    for raw in raw_entries:
        entry = map_entry(raw, base_url, cleaner, with_content)
        if entry is not None:
            entries.append(entry)
            if len(entries) >= max_entries:
                break
    return entries


def _detail_is_html(entry: Mapping[str, Any], key: str) -> bool:
    detail = dict.get(entry, key) or {}
    return (detail.get("type") or "text/html") in HTML_TYPES


def _first_content(entry: Mapping[str, Any]) -> tuple[str | None, bool]:
    for content in dict.get(entry, "content") or []:
        kind = content.get("type") or "text/plain"
        if kind in _TEXT_TYPES and not content.get("src"):
            return content.get("value"), kind in HTML_TYPES
    return None, False


def map_entry(entry: Mapping[str, Any], base_url: str, cleaner: nh3.Cleaner,
              with_content: bool = True) -> RawEntry | None:
    """A RawEntry from one feedparser entry; None when it has no usable http(s) link."""
    guid = dict.get(entry, "id") or None
    url = entry_url(dict.get(entry, "link"), guid)
    if url is None:
        return None
    content, content_is_html = _first_content(entry)
    links = dict.get(entry, "links") or []
    image_url, extra = pick_media(
        (t.get("url") for t in dict.get(entry, "media_thumbnail") or []),
        ((m.get("url"), m.get("type") or "", m.get("medium") or "") for m in dict.get(entry, "media_content") or []),
        ((link.get("href"), link.get("type") or "") for link in links if link.get("rel") == "enclosure"),
        base_url,
    )
    return RawEntry(
        url=url,
        title=plain_title(dict.get(entry, "title"), _detail_is_html(entry, "title_detail")),
        guid=guid,
        summary_html=sanitised_html(dict.get(entry, "summary"), _detail_is_html(entry, "summary_detail"), cleaner),
        content_html=sanitised_html(content, content_is_html, cleaner) if with_content else None,
        published=datetime_from_struct(dict.get(entry, "published_parsed")),
        updated=datetime_from_struct(dict.get(entry, "updated_parsed")),
        authors=unique_texts(a.get("name") or a.get("email") for a in dict.get(entry, "authors") or []),
        tags=unique_texts(t.get("term") or t.get("label") for t in dict.get(entry, "tags") or []),
        image_url=image_url,
        extra=extra,
    )
