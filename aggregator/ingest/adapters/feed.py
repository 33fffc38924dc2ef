"""The feed adapter: RSS, RDF, Atom and JSON Feed bytes plus their base URL in, RawEntry values out."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from typing import Any

import feedparser
import nh3

from aggregator.errors import ParseError
from aggregator.ingest.adapters import jsonfeed
from aggregator.ingest.adapters.fields import (
    HTML_TYPES,
    datetime_from_struct,
    entry_url,
    make_cleaner,
    pick_media,
    plain_title,
    sanitised_html,
    unique_texts,
)
from aggregator.ingest.adapters.xmlguard import refuse_entity_declarations
from aggregator.model import RawEntry

logger = logging.getLogger(__name__)

_TEXT_TYPES = HTML_TYPES | {"text/plain"}
# A character reference to a UTF-16 surrogate (U+D800-U+DFFF, decimal 55296-57343) names no character; one
# made feedparser fail the whole feed. It is dropped, as XML 1.0 would refuse it.
_SURROGATE_REFERENCE = re.compile(
    rb"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*(?:5529[6-9]|55[3-9]\d\d|56\d{3}|57[0-2]\d\d|573[0-3]\d|5734[0-3]));"
)


def parse_feed(
    body: bytes, base_url: str, *, content_type: str | None = None, max_entries: int = 10_000, with_content: bool = True
) -> list[RawEntry]:
    """Entries of an RSS 0.9x/1.0/2.0, Atom or JSON Feed document, at most `max_entries` of them.

    Relative links resolve against `base_url` (and xml:base); summaries are sanitised with nh3.
    `with_content=False` leaves content_html None, which saves most of the sanitising time; the
    summary still falls back to the content when an entry has no summary of its own.
    Raises ParseError when `body` is not a feed at all, or declares XML entities; a damaged feed
    yields what can be read.
    """
    if not isinstance(body, bytes | bytearray | memoryview):
        raise TypeError("parse_feed takes the response body as bytes")
    body = bytes(body)
    if not body or body.isspace():
        raise ParseError("the response body is empty")
    if max_entries <= 0:
        return []
    if jsonfeed.is_json(body, content_type):
        return jsonfeed.parse_json_feed(body, base_url, max_entries=max_entries, with_content=with_content)
    refuse_entity_declarations(body)
    body = _SURROGATE_REFERENCE.sub(b"", body)
    return parse_with_feedparser(
        body, base_url, content_type=content_type, max_entries=max_entries, with_content=with_content
    )


def parse_with_feedparser(
    body: bytes, base_url: str, *, content_type: str | None = None, max_entries: int = 10_000, with_content: bool = True
) -> list[RawEntry]:
    """Entries of any feed feedparser reads, each mapped to a RawEntry."""
    headers = {"content-location": base_url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # A file object, never bytes or a string: feedparser opens a string that looks like a path or
        # URL itself. Sanitising and joining links inside HTML are nh3's job below (make_cleaner), so
        # feedparser's own passes would only be done twice.
        result = feedparser.parse(
            io.BytesIO(body), response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as error:  # feedparser's own bugs on hostile input are a parse failure of that input
        logger.warning("feedparser failed", extra={"url": base_url, "error": repr(error)})
        raise ParseError(f"the feed could not be parsed: {error!r}") from error
    raw_entries = result.get("entries") or []
    if not result.get("version") and not raw_entries:
        reason = result.get("bozo_exception")
        raise ParseError("the document is not an RSS, Atom or JSON feed" + (f" ({reason})" if reason else ""))
    if result.get("bozo") and raw_entries:
        logger.info(
            "ill-formed feed read leniently",
            extra={"url": base_url, "count": len(raw_entries), "error": str(result.get("bozo_exception"))},
        )
    entries: list[RawEntry] = []
    cleaners = _Cleaners(base_url)
    unlinked = 0
    for raw in raw_entries:
        entry = map_entry(raw, base_url, cleaners, with_content)
        if entry is None:
            unlinked += 1
            continue
        entries.append(entry)
        if len(entries) >= max_entries:
            break
    if unlinked:
        logger.info("entries without any http(s) link skipped", extra={"url": base_url, "count": unlinked})
    return entries


class _Cleaners:
    """One nh3 cleaner per base URL met in a feed: the feed's own, and any xml:base an element declares."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._by_base: dict[str, nh3.Cleaner] = {}

    def sanitised(self, value: str | None, is_html: bool, base: str | None) -> str | None:
        """`value` sanitised with its links made absolute against `base` (or the feed's base URL)."""
        if value and is_html and "</" in value:
            # feedparser serialises inline XHTML's <br/> as "<br></br>", and HTML reads "</br>" as a second break.
            value = _BR_END.sub("", value)
        base = base or self.base_url
        cleaner = self._by_base.get(base)
        if cleaner is None:
            cleaner = self._by_base[base] = make_cleaner(base)
        return sanitised_html(value, is_html, cleaner)


_BR_END = re.compile(r"</br\s*>", re.IGNORECASE)


def _detail(entry: Mapping[str, Any], key: str) -> tuple[bool, str | None]:
    """Whether the entry's `key` text is HTML, and the xml:base in effect for it.

    feedparser gives an Atom text construct without `type` as "text/plain": RFC 4287 3.1.1 makes it
    text, so markup escaped inside it stays literal text; an RSS description is HTML by custom."""
    detail = dict.get(entry, key) or {}
    return (detail.get("type") or "text/html") in HTML_TYPES, detail.get("base")


def _best_url(entry: Mapping[str, Any], guid: str | None) -> str | None:
    """The entry's HTML link; else any alternate link (a PDF-only Atom entry), an enclosure or media:content,
    or a guid that is a URL."""
    links = [link for link in dict.get(entry, "links") or [] if isinstance(link, Mapping)]
    candidates = [
        dict.get(entry, "link"),
        *(link.get("href") for link in links if (link.get("rel") or "alternate") == "alternate"),
        *(link.get("href") for link in links if link.get("rel") == "enclosure"),
        *(media.get("url") for media in dict.get(entry, "media_content") or [] if isinstance(media, Mapping)),
    ]
    return next((url for url in (entry_url(c, None) for c in candidates) if url), None) or entry_url(None, guid)


def _first_content(entry: Mapping[str, Any]) -> tuple[str | None, bool, str | None]:
    for content in dict.get(entry, "content") or []:
        kind = content.get("type") or "text/plain"
        if kind in _TEXT_TYPES and not content.get("src"):
            return content.get("value"), kind in HTML_TYPES, content.get("base")
    return None, False, None


def map_entry(
    entry: Mapping[str, Any], base_url: str, cleaners: _Cleaners, with_content: bool = True
) -> RawEntry | None:
    """A RawEntry from one feedparser entry; None when it has no usable http(s) link at all."""
    guid = dict.get(entry, "id") or None
    url = _best_url(entry, guid)
    if url is None:
        return None
    content, content_is_html, content_base = _first_content(entry)
    summary = dict.get(entry, "summary")
    summary_is_html, summary_base = _detail(entry, "summary_detail")
    if summary is not None and summary == content:  # feedparser's summary copied from the content: its type too
        summary_is_html, summary_base = content_is_html, content_base
    if not (summary or "").strip() and content:  # an empty <description> beside content:encoded
        summary, summary_is_html, summary_base = content, content_is_html, content_base
    links = dict.get(entry, "links") or []
    image_url, extra = pick_media(
        (t.get("url") for t in dict.get(entry, "media_thumbnail") or []),
        ((m.get("url"), m.get("type") or "", m.get("medium") or "") for m in dict.get(entry, "media_content") or []),
        ((link.get("href"), link.get("type") or "") for link in links if link.get("rel") == "enclosure"),
        base_url,
    )
    return RawEntry(
        url=url,
        title=plain_title(dict.get(entry, "title"), _detail(entry, "title_detail")[0]),
        guid=guid,
        summary_html=cleaners.sanitised(summary, summary_is_html, summary_base),
        content_html=cleaners.sanitised(content, content_is_html, content_base) if with_content else None,
        published=datetime_from_struct(dict.get(entry, "published_parsed")),
        updated=datetime_from_struct(dict.get(entry, "updated_parsed")),
        authors=unique_texts(a.get("name") or a.get("email") for a in dict.get(entry, "authors") or []),
        tags=unique_texts(t.get("term") or t.get("label") for t in dict.get(entry, "tags") or []),
        image_url=image_url,
        extra=extra,
    )
