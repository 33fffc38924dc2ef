"""Turning a source's RawEntry into a normalised Resource: canonical URL, clean bounded text, one type."""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Iterable

import courlan
from w3lib.url import canonicalize_url

from aggregator.model import RawEntry, Resource, ResourceType
from aggregator.sanitize import clean_text, html_to_text, truncate_text
from aggregator.sources import SourceConfig

_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
TypeInferrer = Callable[[RawEntry, SourceConfig], ResourceType]


def canonicalize(url: str) -> str:
    """The URL two sources would agree on: tracking parameters, fragment and default port removed,
    host lower-cased, query sorted (courlan, then w3lib)."""
    normalized = courlan.normalize_url(url.strip(), strict=False)
    return canonicalize_url(normalized, keep_fragments=False)


def normalize_doi(value: str | None) -> str | None:
    """The bare, lower-case DOI ("10.1000/xyz") from a DOI, a doi: prefix or a doi.org URL."""
    if not value:
        return None
    match = _DOI.search(value)
    return match.group(0).rstrip(".,;").lower() if match else None


def default_type(entry: RawEntry, source: SourceConfig) -> ResourceType:
    """The platform's own statement first, then the source's hint; events by their date; else news."""
    if entry.type_hint is not None:
        return entry.type_hint
    if entry.event is not None and entry.event.start is not None:
        return ResourceType.EVENT
    if source.hints.type is not None:
        return source.hints.type
    if entry.doi:
        return ResourceType.RESEARCH
    return ResourceType.NEWS


def normalize_entry(entry: RawEntry, source: SourceConfig, *, summary_max_chars: int = 1200,
                    infer_type: TypeInferrer = default_type) -> Resource:
    """One RawEntry of `source` as a Resource ready to store (pure)."""
    canonical = canonicalize(entry.url)
    summary_source = entry.summary_html or entry.content_html or ""
    summary = truncate_text(html_to_text(summary_source), summary_max_chars)
    summary_html = entry.summary_html or ""
    if len(summary_html) > summary_max_chars * 4:
        # Too long to show as is: keep the bounded plain text, escaped, instead of cutting HTML mid-tag.
        summary_html = f"<p>{html.escape(summary)}</p>"
    title = clean_text(entry.title) or truncate_text(summary, 120) or canonical
    guid = clean_text(entry.guid)
    resource = Resource(
        source_id=source.id,
        key=f"guid:{guid}" if guid else f"url:{canonical}",
        url=entry.url.strip(),
        canonical_url=canonical,
        title=truncate_text(title, 500),
        summary=summary,
        summary_html=summary_html,
        type=infer_type(entry, source),
        published=entry.published,
        updated=entry.updated,
        authors=_unique(clean_text(a) for a in entry.authors),
        tags=_unique([*(clean_text(t) for t in entry.tags), *source.tags]),
        doi=normalize_doi(entry.doi),
        event=entry.event,
        image_url=entry.image_url,
        extra={k: clean_text(v) for k, v in entry.extra.items()},
    )
    return _with_hash(resource)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        if value and value.casefold() not in seen:
            seen[value.casefold()] = value
    return tuple(seen.values())


def _with_hash(resource: Resource) -> Resource:
    from dataclasses import replace

    payload = json.dumps(
        [resource.url, resource.title, resource.summary, resource.summary_html, resource.type.value,
         _iso(resource.published), _iso(resource.updated), resource.authors, resource.tags, resource.doi,
         repr(resource.event), resource.image_url, sorted(resource.extra.items())],
        ensure_ascii=False, separators=(",", ":"),
    )
    return replace(resource, content_hash=hashlib.sha256(payload.encode()).hexdigest())


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None
