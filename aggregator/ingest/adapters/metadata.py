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
from aggregator.ingest.adapters.metadata_type import page_type
from aggregator.ingest.adapters.metadata_values import (
    canonical_link,
    document_title,
    dublin_core,
    first_date,
    first_doi,
    first_text,
    keywords,
    many,
    merge_dicts,
    one,
    plain,
    plain_all,
)
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
)
from aggregator.model import Event, RawEntry, ResourceType
from aggregator.text.dates import parse_date
from aggregator.text.sanitize import clean_text

logger = logging.getLogger(__name__)

SYNTAXES = ["json-ld", "microdata", "opengraph", "dublincore"]
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# every Highwire date, in priority order: the most precise of them wins (a month-only citation_date loses)
_CITATION_DATES = ("citation_publication_date", "citation_date", "citation_online_date", "citation_cover_date")
# schema.org nodes naming the site (an author equal to one of their names is no author)
_SITE_NODES = frozenset({"WebSite", "Organization", "Corporation", "GovernmentOrganization", "NGO"})


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
    og = merge_dicts(data.get("opengraph", []))
    dc = dublin_core(data.get("dublincore", []))
    citation = {name: values for name, values in metas.items() if name.startswith("citation_")}
    date = functools.partial(parse_date, default_tz=default_tz)
    documents = (main, *page_nodes(nodes))  # a Yoast WebPage node carries the dates an Event node lacks
    site_names = [
        one(og, "og:site_name"),
        *(node_text(n, "name") for n in nodes if node_types(n) & _SITE_NODES),
        *node_names(main, "publisher"),
    ]

    # A page that states only when it was modified (a WordPress page: Yoast's article:modified_time) has no
    # publication date; htmldate would take the modification for one.
    updated = first_date(
        date,
        *(node_text(n, "dateModified") for n in documents),
        one(og, "article:modified_time", "og:updated_time"),
        one(dc, "dcterms.modified", "dc.date.modified"),
    )
    return PageMetadata(
        title=first_text(
            pick_title(
                [
                    plain(t)
                    for t in (
                        one(citation, "citation_title"),
                        node_text(main, "headline", "name"),
                        one(og, "og:title"),
                        one(dc, "dc.title"),
                        document_title(tree),
                    )
                ],
                site_names,
                url,
                tree,
            )
        ),
        description=first_text(
            one(citation, "citation_abstract"),
            node_text(main, "description"),
            one(og, "og:description"),
            one(dc, "dc.description", "dcterms.abstract"),
            one(metas, "description"),
        ),
        authors=pick_authors(
            [
                plain_all(names)
                for names in (
                    citation.get("citation_author", ()),
                    node_names(main, "author", "creator"),
                    dc.get("dc.creator", ()),
                    metas.get("author", ()),
                    [a for a in many(og, "article:author") if not PROFILE_LINK.match(a)],
                )
            ],
            site_names,
            url,
            tree,
        ),
        published=pick_published(
            [
                *(one(citation, name) for name in _CITATION_DATES),
                *(node_text(n, "datePublished", "uploadDate", "dateCreated") for n in documents),
                one(og, "article:published_time", "article:published"),
                one(dc, "dcterms.issued", "dc.date.issued", "dc.date", "dcterms.created"),
            ],
            date,
            body,
            url,
            guess=updated is None,
        ),
        updated=updated,
        doi=first_doi(
            one(citation, "citation_doi"),
            *dc.get("dc.identifier", ()),
            *metas.get("prism.doi", ()),
            *node_values(main, "identifier", "sameAs", "url"),
        ),
        tags=unique_texts(
            keywords(
                citation.get("citation_keywords", ()),
                node_values(main, "keywords"),
                many(og, "article:tag"),
                dc.get("dc.subject", ()),
                metas.get("keywords", ()),
            )
        ),
        type_hint=page_type(tree, nodes, main, og, citation),
        url=first_url(url, canonical_link(tree), one(og, "og:url"), node_text(main, "url")),
        image_url=first_url(url, one(og, "og:image", "og:image:url"), node_image(main)),
        site_name=first_text(
            one(og, "og:site_name"),
            *(node_text(n, "name") for n in nodes if "WebSite" in node_types(n)),
            *node_names(main, "publisher"),
        ),
        event=next((node_event(n, url, default_tz) for n in nodes if is_event_node(n)), None),
        pdf_url=first_url(url, one(citation, "citation_pdf_url"), node_pdf_url(main)),
    )


def metadata_entry(meta: PageMetadata, url: str, **fields: Any) -> RawEntry:
    """The entry a page's metadata describes, at `url`; `fields` give the rest (title, guid, extra) or
    override what the metadata says."""
    values: dict[str, Any] = {
        "url": url,
        "title": meta.title,
        "summary_html": f"<p>{html.escape(meta.description)}</p>" if meta.description else None,
        "published": meta.published,
        "updated": meta.updated,
        "authors": meta.authors,
        "tags": meta.tags,
        "type_hint": meta.type_hint,
        "doi": meta.doi,
        "event": meta.event,
        "image_url": meta.image_url,
    }
    return RawEntry(**{**values, **fields})


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
