"""Structured metadata of a detail page (citation_*, JSON-LD, OpenGraph, Dublin Core) and entries filled from it.

Each field is taken from the first source that has it, in this order: Highwire `citation_*` meta
(what EPrints, OJS and journal platforms print for Google Scholar), schema.org (JSON-LD, then
microdata), OpenGraph, Dublin Core, then plain `<meta name=description>` / `<title>`. Tags are the
union of every source's keywords. Dates go through `aggregator.text.dates` and come out in UTC.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import extruct
import lxml.html
from bs4 import UnicodeDammit
from lxml import etree

from aggregator.errors import ParseError
from aggregator.ingest.adapters.fields import unique_texts
from aggregator.ingest.adapters.metadata_pick import pick_authors, pick_published, pick_title
from aggregator.ingest.adapters.page import is_html
from aggregator.ingest.adapters.schema_org import (
    PROFILE_LINK,
    find_schema_nodes,
    first_url,
    is_event_node,
    main_node,
    node_event,
    node_image,
    node_names,
    node_pdf_url,
    node_text,
    node_types,
    node_values,
    page_nodes,
    schema_type_hint,
)
from aggregator.ingest.normalize import normalize_doi
from aggregator.model import Event, RawEntry, ResourceType
from aggregator.text.dates import parse_date
from aggregator.text.sanitize import clean_text, html_to_text

logger = logging.getLogger(__name__)

SYNTAXES = ["json-ld", "microdata", "opengraph", "dublincore"]
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# every Highwire date, in priority order: the most precise of them wins (a month-only citation_date loses)
_CITATION_DATES = ("citation_publication_date", "citation_date", "citation_online_date", "citation_cover_date")
# schema.org nodes naming the site (an author equal to one of their names is no author)
_SITE_NODES = frozenset({"WebSite", "Organization", "Corporation", "GovernmentOrganization", "NGO"})
# Highwire tags that say what kind of work this is
_CITATION_TYPES = (
    ("citation_technical_report_institution", ResourceType.REPORT),
    ("citation_technical_report_number", ResourceType.REPORT),
    ("citation_journal_title", ResourceType.RESEARCH),
    ("citation_conference_title", ResourceType.RESEARCH),
    ("citation_dissertation_institution", ResourceType.RESEARCH),
)


@dataclass(frozen=True, slots=True)
class PageMetadata:
    """What a detail page says about itself; None / () where it says nothing."""

    title: str | None = None
    description: str | None = None  # plain text
    authors: tuple[str, ...] = ()
    published: datetime | None = None
    updated: datetime | None = None
    doi: str | None = None  # bare and lower-case: "10.1136/bmj.n1234"
    tags: tuple[str, ...] = ()
    type_hint: ResourceType | None = None
    url: str | None = None  # canonical link, else og:url, else schema.org url
    image_url: str | None = None
    site_name: str | None = None
    event: Event | None = None
    pdf_url: str | None = None


def extract_metadata(body: bytes, url: str, *, default_tz: str = "Europe/London") -> PageMetadata:
    """The metadata of the HTML page `body` fetched from `url`; ParseError only when it is not HTML."""
    tree = read_tree(body, url)
    data = _structured_data(tree, url)
    metas = read_metas(tree)
    nodes = find_schema_nodes([*data.get("json-ld", []), *data.get("microdata", [])])
    main = main_node(nodes)
    og = _merge_dicts(data.get("opengraph", []))
    dc = _dublin_core(data.get("dublincore", []))
    citation = {name: values for name, values in metas.items() if name.startswith("citation_")}
    date = functools.partial(parse_date, default_tz=default_tz)
    documents = (main, *page_nodes(nodes))  # a Yoast WebPage node carries the dates an Event node lacks
    site_names = [
        _one(og, "og:site_name"),
        *(node_text(n, "name") for n in nodes if node_types(n) & _SITE_NODES),
        *node_names(main, "publisher"),
    ]

    # A page that states only when it was modified (a WordPress page: Yoast's article:modified_time) has no
    # publication date; htmldate would take the modification for one.
    updated = _first_date(
        date,
        *(node_text(n, "dateModified") for n in documents),
        _one(og, "article:modified_time", "og:updated_time"),
        _one(dc, "dcterms.modified", "dc.date.modified"),
    )
    return PageMetadata(
        title=_first_text(
            pick_title(
                [
                    _plain(t)
                    for t in (
                        _one(citation, "citation_title"),
                        node_text(main, "headline", "name"),
                        _one(og, "og:title"),
                        _one(dc, "dc.title"),
                        _document_title(tree),
                    )
                ],
                site_names,
                url,
                tree,
            )
        ),
        description=_first_text(
            _one(citation, "citation_abstract"),
            node_text(main, "description"),
            _one(og, "og:description"),
            _one(dc, "dc.description", "dcterms.abstract"),
            _one(metas, "description"),
        ),
        authors=pick_authors(
            [
                _plain_all(names)
                for names in (
                    citation.get("citation_author", ()),
                    node_names(main, "author", "creator"),
                    dc.get("dc.creator", ()),
                    metas.get("author", ()),
                    [a for a in _many(og, "article:author") if not PROFILE_LINK.match(a)],
                )
            ],
            site_names,
            url,
            tree,
        ),
        published=pick_published(
            [
                *(_one(citation, name) for name in _CITATION_DATES),
                *(node_text(n, "datePublished", "uploadDate", "dateCreated") for n in documents),
                _one(og, "article:published_time", "article:published"),
                _one(dc, "dcterms.issued", "dc.date.issued", "dc.date", "dcterms.created"),
            ],
            date,
            body,
            url,
            guess=updated is None,
        ),
        updated=updated,
        doi=_first_doi(
            _one(citation, "citation_doi"),
            *dc.get("dc.identifier", ()),
            *metas.get("prism.doi", ()),
            *node_values(main, "identifier", "sameAs", "url"),
        ),
        tags=unique_texts(
            _keywords(
                citation.get("citation_keywords", ()),
                node_values(main, "keywords"),
                _many(og, "article:tag"),
                dc.get("dc.subject", ()),
                metas.get("keywords", ()),
            )
        ),
        type_hint=_type_hint(citation, main, og),
        url=first_url(url, _canonical_link(tree), _one(og, "og:url"), node_text(main, "url")),
        image_url=first_url(url, _one(og, "og:image", "og:image:url"), node_image(main)),
        site_name=_first_text(
            _one(og, "og:site_name"),
            *(node_text(n, "name") for n in nodes if "WebSite" in node_types(n)),
            *node_names(main, "publisher"),
        ),
        event=next((node_event(n, url, default_tz) for n in nodes if is_event_node(n)), None),
        pdf_url=first_url(url, _one(citation, "citation_pdf_url"), node_pdf_url(main)),
    )


def enrich_entry(entry: RawEntry, meta: PageMetadata) -> RawEntry:
    """`entry` with its missing fields filled from `meta`; the entry's own values always win, tags are merged."""
    changes: dict[str, Any] = {}
    fill = {
        "published": meta.published,
        "updated": meta.updated,
        "doi": meta.doi,
        "type_hint": meta.type_hint,
        "event": meta.event,
        "image_url": meta.image_url,
    }
    for name, value in fill.items():
        if getattr(entry, name) is None and value is not None:
            changes[name] = value
    if not entry.title.strip() and meta.title:
        changes["title"] = meta.title
    if not entry.authors and meta.authors:
        changes["authors"] = meta.authors
    if entry.summary_html is None and meta.description:
        changes["summary_html"] = f"<p>{html.escape(meta.description, quote=False)}</p>"
    tags = unique_texts([*entry.tags, *meta.tags])
    if tags != entry.tags:
        changes["tags"] = tags
    if meta.pdf_url and "pdf_url" not in entry.extra:
        changes["extra"] = MappingProxyType({**entry.extra, "pdf_url": meta.pdf_url})
    return dataclasses.replace(entry, **changes) if changes else entry


def _structured_data(tree: lxml.html.HtmlElement, url: str) -> dict[str, list]:
    """extruct's items of each syntax in SYNTAXES; a syntax extruct fails to read (it logs why) gives none.

    One call reads them all. Its uniform step needs every syntax's output and raises KeyError when one
    failed (OpenGraph on a page without a usable head, say); then each syntax is read on its own.
    """

    def extract(syntaxes: list[str], errors: str) -> dict[str, list]:
        return extruct.extract(tree, base_url=url, syntaxes=syntaxes, uniform=True, with_og_array=True, errors=errors)

    try:
        return extract(SYNTAXES, "log")
    except KeyError:
        data: dict[str, list] = {}
        for syntax in SYNTAXES:
            try:
                data.update(extract([syntax], "ignore"))  # the first call logged the failure
            except KeyError:
                continue
        return data


def read_tree(body: bytes, url: str | None = None) -> lxml.html.HtmlElement:
    """`body` as an lxml tree, decoded by its BOM, `<meta charset>` or a guess; ParseError when not HTML."""
    if not is_html(body):
        raise ParseError(
            f"not an HTML page: {url or 'body'} starts with {body[:20]!r}",
            hint="the metadata adapter reads HTML landing pages; check the URL in sources.yaml",
        )
    text = UnicodeDammit(body, is_html=True).unicode_markup or body.decode("utf-8", "replace")
    try:
        # lxml refuses str input that still carries an XML encoding declaration
        return lxml.html.document_fromstring(_XML_DECLARATION.sub("", text, count=1))
    except (etree.ParserError, ValueError) as exc:  # e.g. "Document is empty" for a lone comment
        raise ParseError(
            f"not a readable HTML page: {url or 'body'} ({exc})",
            hint="the metadata adapter reads HTML landing pages; check the URL in sources.yaml",
        ) from None


def read_metas(tree: lxml.html.HtmlElement) -> dict[str, list[str]]:
    """Every `<meta name|property content>`, by lower-cased name, values in page order."""
    metas: dict[str, list[str]] = {}
    for meta in tree.iter("meta"):
        name = (meta.get("name") or meta.get("property") or "").strip().lower()
        content = clean_text(meta.get("content"))
        if name and content:
            metas.setdefault(name, []).append(content)
    return metas


# --- picking values -----------------------------------------------------------------------------


def _one(source: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        values = _many(source, name)
        if values:
            return values[0]
    return None


def _many(source: Mapping[str, Any], name: str) -> list[str]:
    value = source.get(name)
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _first_text(*candidates: str | None) -> str | None:
    for candidate in candidates:
        text = _plain(candidate)
        if text:
            return text
    return None


def _plain(value: str | None) -> str:
    """Plain text of `value`; twice when it was HTML escaped once more (The Events Calendar's JSON-LD)."""
    text = html_to_text(value)
    return html_to_text(text) if _TAG.search(text) else text


def _plain_all(names: Iterable[str]) -> list[str]:
    # authors are not merged across sources: "West, Michael" and "Michael West" would both stay
    return [_plain(name) for name in names]


def _first_date(parse: Callable[[str], datetime | None], *candidates: str | None) -> datetime | None:
    for candidate in candidates:
        value = parse(candidate) if candidate else None
        if value is not None:
            return value
    return None


def _first_doi(*candidates: str | None) -> str | None:
    return next((doi for doi in map(normalize_doi, candidates) if doi), None)


def _keywords(*groups: Iterable[str]) -> list[str]:
    """Keywords from every source; one string may hold several, split on ';' (Highwire) or ','."""
    words: list[str] = []
    for group in groups:
        for value in group:
            separator = ";" if ";" in value else ","
            words.extend(part.strip() for part in value.split(separator))
    return words


def _type_hint(
    citation: Mapping[str, list[str]], main: Mapping[str, Any], og: Mapping[str, Any]
) -> ResourceType | None:
    for name, kind in _CITATION_TYPES:
        if citation.get(name):
            return kind
    if (kind := schema_type_hint(main)) is not None:
        return kind
    og_type = (_one(og, "@type") or "").lower()
    return ResourceType.VIDEO if og_type.startswith("video") else None


def _merge_dicts(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            merged.setdefault(key, value)
    return merged


def _dublin_core(items: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """extruct's Dublin Core (elements and terms) as lower-cased name -> values; DCTERMS.x also as dcterms.x."""
    found: dict[str, list[str]] = {}
    for item in items:
        for element in [*item.get("elements", []), *item.get("terms", [])]:
            name, content = str(element.get("name", "")).lower(), clean_text(element.get("content"))
            if name and content:
                found.setdefault(name, []).append(content)
    return found


def _document_title(tree: lxml.html.HtmlElement) -> str | None:
    title = tree.find(".//title")
    return title.text_content() if title is not None else None


def _canonical_link(tree: lxml.html.HtmlElement) -> str | None:
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return link.get("href")
    return None
