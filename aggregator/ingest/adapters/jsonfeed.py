"""JSON Feed 1.0/1.1 (https://jsonfeed.org/version/1.1) bytes in, RawEntry values out."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import nh3
from dateutil import parser as dateutil_parser

from aggregator.errors import ParseError
from aggregator.ingest.adapters.fields import (
    UTC,
    absolute_url,
    entry_url,
    make_cleaner,
    pick_media,
    plain_title,
    sanitised_html,
    unique_texts,
)
from aggregator.model import RawEntry

logger = logging.getLogger(__name__)


def is_json(body: bytes, content_type: str | None = None) -> bool:
    """True when the body looks like a JSON document (its first significant character is "{")."""
    start = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"{")


def parse_json_feed(
    body: bytes, base_url: str, *, max_entries: int = 10_000, with_content: bool = True
) -> list[RawEntry]:
    """Entries of a JSON Feed; ParseError when the body is not JSON or not a JSON Feed."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise ParseError(f"the body is not valid JSON: {error}") from error
    if not isinstance(document, dict) or not _is_json_feed(document):
        raise ParseError("the JSON document is not a JSON Feed (no jsonfeed.org version or items list)")
    entries: list[RawEntry] = []
    cleaner = make_cleaner(base_url)
    unlinked = 0
    for item in document.get("items") or []:
        if not isinstance(item, dict):
            continue
        entry = map_item(item, base_url, cleaner, with_content)
        if entry is None:
            unlinked += 1
            continue
        entries.append(entry)
        if len(entries) >= max_entries:
            break
    if unlinked:
        logger.info("items without any http(s) link skipped", extra={"url": base_url, "count": unlinked})
    return entries


def _is_json_feed(document: dict[str, Any]) -> bool:
    version = document.get("version")
    if isinstance(version, str) and "jsonfeed.org/version" in version:
        return isinstance(document.get("items", []), list)
    return isinstance(document.get("items"), list) and "title" in document


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _date(value: Any) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        parsed = dateutil_parser.isoparse(text.strip())
    except (ValueError, OverflowError, TypeError):
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC).replace(microsecond=0)
    except (ValueError, OverflowError):
        return None


def _authors(item: dict[str, Any]) -> Iterator[str | None]:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]
    for author in authors:
        if isinstance(author, dict):
            yield _text(author.get("name"))


def map_item(item: dict[str, Any], base_url: str, cleaner: nh3.Cleaner, with_content: bool = True) -> RawEntry | None:
    """A RawEntry from one JSON Feed item; None when it has no usable http(s) link at all."""
    guid = _text(item.get("id"))
    attachments = (
        [a for a in item.get("attachments") or [] if isinstance(a, dict)]
        if isinstance(item.get("attachments"), list)
        else []
    )
    # the item's page, else the page it links to, else an attachment, else an id that is a URL
    candidates = [_text(item.get("url")), _text(item.get("external_url")), *(_text(a.get("url")) for a in attachments)]
    url = next((u for u in (absolute_url(c, base_url) for c in candidates) if u), None) or entry_url(None, guid)
    if url is None:
        return None
    content_html = _text(item.get("content_html"))
    content = None
    if with_content or not (_text(item.get("summary")) or "").strip():  # the summary falls back to the content
        content = (
            sanitised_html(content_html, True, cleaner)
            if content_html
            else sanitised_html(_text(item.get("content_text")), False, cleaner)
        )
    summary = sanitised_html(_text(item.get("summary")), False, cleaner)
    image_url, extra = pick_media(
        [_text(item.get("image")), _text(item.get("banner_image"))],
        (),
        ((_text(a.get("url")), _text(a.get("mime_type")) or "") for a in attachments),
        base_url,
    )
    tags = item.get("tags") if isinstance(item.get("tags"), list) else []
    return RawEntry(
        url=url,
        title=plain_title(_text(item.get("title")), False),
        guid=guid,
        summary_html=summary if (summary or "").strip() else content,
        content_html=content if with_content else None,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        authors=unique_texts(_authors(item)),
        tags=unique_texts(_text(t) for t in tags),
        image_url=image_url,
        extra=extra,
    )
