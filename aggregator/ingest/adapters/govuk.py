"""GOV.UK Content API adapter: one content item's JSON in, RawEntry values out (the item and, for collections, its documents)."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from dateutil.parser import isoparse

from aggregator.errors import ParseError
from aggregator.ingest.adapters.govuk_types import TYPE_BY_DOCUMENT_TYPE, TYPE_BY_SCHEMA, humanise, type_hint  # noqa: F401 (re-exported)
from aggregator.model import EMPTY, RawEntry
from aggregator.text.sanitize import clean_html, clean_text, is_http_url

logger = logging.getLogger(__name__)

GOVUK_ORIGIN = "https://www.gov.uk"

# Links whose titles are the item's subjects; they become tags after the humanised document type.
TAG_LINKS = ("taxons", "topics", "mainstream_browse_pages", "policy_areas", "topical_events")
ORGANISATION_LINKS = ("primary_publishing_organisation", "organisations")


def content_api_url(base_url: str, path: str) -> str:
    """The Content API address of a GOV.UK page: `<origin>/api/content/<path>` (origin of base_url, else www.gov.uk).

    `path` may be a page path ("/government/collections/x") or a full www.gov.uk page URL.
    """
    if is_http_url(path):
        path = urlsplit(path).path
    path = path.strip().lstrip("/")
    if path.startswith("api/content/"):
        path = path[len("api/content/") :]
    return f"{_origin(base_url)}/api/content/{quote(path, safe='/-._~')}"


def parse_content_item(body: bytes, base_url: str) -> list[RawEntry]:
    """Entries for one Content API response: the item itself first, then each document a collection links to.

    Raises ParseError when the body is not a JSON object or the item has no base_path or title
    (GOV.UK "gone" and "redirect" items have neither a title nor content worth listing).
    """
    item = _load_json(body)
    origin = _origin(base_url)
    base_path = _str(item.get("base_path"))
    if not base_path or not base_path.startswith("/"):
        raise ParseError("GOV.UK content item has no base_path", hint="is this a Content API URL (/api/content/...)?")
    title = clean_text(_str(item.get("title")))
    if not title:
        raise ParseError(
            f"GOV.UK content item {base_path} has no title (document_type {_str(item.get('document_type'))!r})"
        )
    links = _dict(item.get("links"))
    details = _dict(item.get("details"))
    authors = _titles(link for name in ORGANISATION_LINKS for link in _list(links.get(name)))
    document_type = _str(item.get("document_type")) or ""
    extra = {
        "document_type": document_type,
        "schema_name": _str(item.get("schema_name")) or "",
        "change_note": _latest_change_note(details),
        "organisations": "; ".join(authors),
        "withdrawn": "true" if _dict(item.get("withdrawn_notice")).get("explanation") else "",
    }
    entry = RawEntry(
        url=origin + base_path,
        title=title,
        guid=_str(item.get("content_id")),
        summary_html=_summary_html(item.get("description")),
        content_html=clean_html(_body_html(details), origin + base_path) or None,
        published=_parse_time(details.get("first_public_at")) or _parse_time(item.get("first_published_at")),
        updated=_parse_time(item.get("public_updated_at")),
        authors=authors,
        tags=_unique(
            [humanise(document_type), *_titles(link for name in TAG_LINKS for link in _list(links.get(name)))]
        ),
        type_hint=type_hint(document_type, _str(item.get("schema_name"))),
        extra={key: value for key, value in extra.items() if value},
    )
    return [entry, *_collection_entries(item, entry, origin)]


def _collection_entries(item: Mapping[str, Any], parent: RawEntry, origin: str) -> list[RawEntry]:
    """One entry per document in `links.documents` (how a collection page lists its publications)."""
    groups = {
        doc_id: clean_text(_str(group.get("title")))
        for group in map(_dict, _list(_dict(item.get("details")).get("collection_groups")))
        for doc_id in _list(group.get("documents"))
        if isinstance(doc_id, str)
    }
    entries: list[RawEntry] = []
    seen: set[str] = set()
    for document in map(_dict, _list(_dict(item.get("links")).get("documents"))):
        base_path, title = _str(document.get("base_path")), clean_text(_str(document.get("title")))
        if not base_path or not base_path.startswith("/") or not title or base_path in seen:
            logger.info(
                "skipping collection document without base_path/title or repeated",
                extra={"url": parent.url, "count": len(entries)},
            )
            continue
        seen.add(base_path)
        document_type = _str(document.get("document_type")) or ""
        own_organisations = _titles(_list(_dict(document.get("links")).get("organisations")))
        content_id = _str(document.get("content_id"))
        extra = {
            "document_type": document_type,
            "collection": parent.title,
            "collection_url": parent.url,
            "collection_group": groups.get(content_id or "", ""),
            "withdrawn": "true" if document.get("withdrawn") is True else "",
        }
        entries.append(
            RawEntry(
                url=origin + base_path,
                title=title,
                guid=content_id,
                summary_html=_summary_html(document.get("description")),
                updated=_parse_time(document.get("public_updated_at")),
                # A collection's documents come from its publisher unless they name their own organisations.
                authors=own_organisations or parent.authors,
                tags=_unique([humanise(document_type)]),
                type_hint=type_hint(document_type, _str(document.get("schema_name"))),
                extra={key: value for key, value in extra.items() if value},
            )
        )
    return entries


def _load_json(body: bytes) -> dict[str, Any]:
    try:
        item = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise ParseError(f"GOV.UK content item is not valid JSON: {exc}") from None
    if not isinstance(item, dict):
        raise ParseError("GOV.UK content item is not a JSON object")
    return item


def _origin(base_url: str) -> str:
    """scheme://host of base_url, so fixtures served from a local server link back to it; else www.gov.uk."""
    if not is_http_url(base_url):
        return GOVUK_ORIGIN
    parts = urlsplit(base_url.strip())
    return f"{parts.scheme}://{parts.netloc}"


def _summary_html(description: Any) -> str | None:
    # The Content API's description is plain text: escape it, never trust it as markup.
    text = clean_text(_str(description))
    if not text:
        return None
    return clean_html(html.escape(text, quote=False)) or None


def _body_html(details: Mapping[str, Any]) -> str:
    """details.summary and details.body (or a guide's parts) as one HTML fragment, not yet sanitised."""
    pieces = [_html_value(details.get("summary")), _html_value(details.get("body"))]
    if not pieces[1]:
        for part in map(_dict, _list(details.get("parts"))):
            part_body = _html_value(part.get("body"))
            if part_body:
                pieces.append(f"<h2>{html.escape(clean_text(_str(part.get('title'))))}</h2>{part_body}")
    return "\n".join(piece for piece in pieces if piece)


def _html_value(value: Any) -> str:
    """Govspeak-rendered HTML: a string, or (newer schemas) a list of {content_type, content} alternatives."""
    if isinstance(value, str):
        return value
    for alternative in map(_dict, _list(value)):
        if alternative.get("content_type") == "text/html":
            return _str(alternative.get("content")) or ""
    return ""


def _latest_change_note(details: Mapping[str, Any]) -> str:
    """The newest note of details.change_history (or a manual's change_notes), whatever order they come in."""
    notes = []
    for change in map(_dict, [*_list(details.get("change_history")), *_list(details.get("change_notes"))]):
        note = clean_text(_str(change.get("note")) or _str(change.get("change_note")))
        when = _parse_time(change.get("public_timestamp")) or _parse_time(change.get("published_at"))
        if note:
            notes.append((when or datetime.min.replace(tzinfo=UTC), note))
    return max(notes, key=lambda pair: pair[0])[1] if notes else ""


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = isoparse(value.strip())
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _titles(links: Iterable[Any]) -> tuple[str, ...]:
    return _unique(clean_text(_str(_dict(link).get("title"))) for link in links)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else EMPTY


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
