"""Turning a source's RawEntry into a normalised Resource: canonical URL, clean bounded text, one type."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime

import courlan
from w3lib.url import canonicalize_url

from aggregator.config.sources import SourceConfig
from aggregator.ingest.resource_types import guessed_entry_type, is_pdf_entry, stated_entry_type
from aggregator.model import EMPTY, Event, RawEntry, Resource
from aggregator.text.clean import clean_summary
from aggregator.text.sanitize import clean_text, html_to_text, truncate_text

_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_URL = re.compile(r"^\s*(?:https?://|www\.|doi\.org/)", re.IGNORECASE)
# what publishers append to a DOI in their landing-page URLs (.../10.3389/x.1/full, .../pdf, .../epdf)
_VIEWER_TAIL = re.compile(
    r"(?:/(?:full|pdf|epdf|abstract|fulltext|full-text|html|summary|references))+/?$", re.IGNORECASE
)


def canonicalize(url: str) -> str:
    """The URL two sources would agree on: tracking parameters, fragment and default port removed,
    host lower-cased, query sorted (courlan, then w3lib)."""
    normalized = courlan.normalize_url(url.strip(), strict=False)
    return canonicalize_url(normalized, keep_fragments=False)


def normalize_doi(value: str | None) -> str | None:
    """The bare, lower-case DOI ("10.1000/xyz") from a DOI, a doi:/info:doi/ prefix or a URL;
    punctuation that ends a sentence or a bracket around it is not part of it, nor, in a URL, the query
    and a viewer tail (/full, /pdf, /abstract, /epdf)."""
    if not value:
        return None
    match = _DOI.search(value)
    if not match:
        return None
    doi = match.group(0)
    if _URL.match(value):  # a landing page's address: its query and viewer tails are not the DOI
        doi = _VIEWER_TAIL.sub("", doi.split("?", 1)[0].split("#", 1)[0])
    return doi.rstrip(".,;)").lower() or None


def normalize_entry(entry: RawEntry, source: SourceConfig, *, summary_max_chars: int = 1200) -> Resource:
    """One RawEntry of `source` as a Resource ready to store (pure)."""
    canonical = canonicalize(entry.url)
    summary = truncate_text(clean_summary(html_to_text(entry.summary_html or entry.content_html)), summary_max_chars)
    summary_html = entry.summary_html or ""
    if len(summary_html) > summary_max_chars * 4:
        # Too long to show as is: keep the bounded plain text, escaped, instead of cutting HTML mid-tag.
        summary_html = f"<p>{html.escape(summary)}</p>"
    title = truncate_text(plain_title(entry.title) or truncate_text(summary, 120) or canonical, 500)
    guid = clean_text(entry.guid)
    url = entry.url.strip()
    stated = stated_entry_type(entry, source)
    resource_type = stated if stated is not None else guessed_entry_type(entry, summary=summary)
    # a PDF is a document, a report unless stated otherwise; a type read only from the text is a guess the
    # classifier's type model replaces when it labels the resource
    type_stated = stated is not None or is_pdf_entry(entry)
    authors = _unique([clean_text(a) for a in entry.authors])
    tags = _unique([*(clean_text(t) for t in entry.tags), *source.tags])
    # a publisher's landing page names its DOI in its address (".../doi/10.1136/bmj.n71/full"): dedupe
    # then matches it with the same work listed elsewhere, as `dedupe eval --set` scores it
    doi = normalize_doi(entry.doi) or normalize_doi(entry.url)
    extra = {k: clean_text(v) for k, v in entry.extra.items()} if entry.extra else EMPTY
    content_hash = _content_hash(
        url,
        title,
        summary,
        summary_html,
        resource_type.value,
        entry.published,
        entry.updated,
        authors,
        tags,
        doi,
        entry.event,
        entry.image_url,
        extra,
    )
    return Resource(
        source_id=source.id,
        key=f"guid:{guid}" if guid else f"url:{canonical}",
        url=url,
        canonical_url=canonical,
        title=title,
        summary=summary,
        summary_html=summary_html,
        type=resource_type,
        published=entry.published,
        updated=entry.updated,
        authors=authors,
        tags=tags,
        doi=doi,
        event=entry.event,
        image_url=entry.image_url,
        extra=extra,
        content_hash=content_hash,
        type_stated=type_stated,
    )


def plain_title(value: str | None) -> str:
    """A title as plain text. A source may put markup in a title as text ("<img src=x onerror=...>", or
    escaped once more): its tags are dropped here, so that no feed, page or mail ever carries markup in a
    title, whatever a reader does with it. Decoding can reveal tags escaped again, so it repeats until
    nothing changes."""
    text = clean_text(value)
    for _ in range(_TITLE_PASSES):
        if not _MAY_HOLD_TAG.search(text):
            return text
        stripped = html_to_text(text)
        if stripped == text:
            return text
        text = stripped
    return text.replace("<", "\u2039").replace(">", "\u203a")  # still nested deeper: no tag can survive


_TITLE_PASSES = 4
_MAY_HOLD_TAG = re.compile(r"<|&(?:lt|#|amp;)", re.IGNORECASE)  # a tag, or one escaped (decoding reveals it)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for value in values:
        if value:
            seen.setdefault(value.casefold(), value)
    return tuple(seen.values())


def _content_hash(
    url: str,
    title: str,
    summary: str,
    summary_html: str,
    type_value: str,
    published: datetime | None,
    updated: datetime | None,
    authors: tuple[str, ...],
    tags: tuple[str, ...],
    doi: str | None,
    event: Event | None,
    image_url: str | None,
    extra: Mapping[str, str],
) -> str:
    """A digest of every stored field: equal digests mean the entry needs no write.

    repr() of a tuple of strings, None and tuples is an unambiguous literal (and escapes lone
    surrogates, which UTF-8 cannot encode); datetimes go in as ISO text, independent of repr.
    """
    payload = repr(
        (
            url,
            title,
            summary,
            summary_html,
            type_value,
            published.isoformat() if published else None,
            updated.isoformat() if updated else None,
            authors,
            tags,
            doi,
            repr(event),
            image_url,
            sorted(extra.items()),
        )
    )
    return hashlib.blake2b(payload.encode(), digest_size=32).hexdigest()
