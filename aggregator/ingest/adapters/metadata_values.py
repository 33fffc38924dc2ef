"""Picking one value from the metadata sources of a page: first text, first date, first DOI, keywords, Dublin Core."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import lxml.html

from aggregator.ingest.normalize import normalize_doi
from aggregator.text.sanitize import clean_text, html_to_text

_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def one(source: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        values = many(source, name)
        if values:
            return values[0]
    return None


def many(source: Mapping[str, Any], name: str) -> list[str]:
    value = source.get(name)
    values = value if isinstance(value, (list, tuple)) else [value]
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def first_text(*candidates: str | None) -> str | None:
    for candidate in candidates:
        text = plain(candidate)
        if text:
            return text
    return None


def plain(value: str | None) -> str:
    """Plain text of `value`; twice when it was HTML escaped once more (The Events Calendar's JSON-LD)."""
    text = html_to_text(value)
    return html_to_text(text) if _TAG.search(text) else text


def plain_all(names: Iterable[str]) -> list[str]:
    # authors are not merged across sources: "West, Michael" and "Michael West" would both stay
    return [plain(name) for name in names]


def first_date(parse: Callable[[str], datetime | None], *candidates: str | None) -> datetime | None:
    for candidate in candidates:
        value = parse(candidate) if candidate else None
        if value is not None:
            return value
    return None


def first_doi(*candidates: str | None) -> str | None:
    return next((doi for doi in map(normalize_doi, candidates) if doi), None)


def keywords(*groups: Iterable[str]) -> list[str]:
    """Keywords from every source; one string may hold several, split on ';' (Highwire) or ','."""
    words: list[str] = []
    for group in groups:
        for value in group:
            separator = ";" if ";" in value else ","
            words.extend(part.strip() for part in value.split(separator))
    return words


def merge_dicts(items: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for item in items:
        for key, value in item.items():
            merged.setdefault(key, value)
    return merged


def dublin_core(items: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """extruct's Dublin Core (elements and terms) as lower-cased name -> values; DCTERMS.x also as dcterms.x."""
    found: dict[str, list[str]] = {}
    for item in items:
        for element in [*item.get("elements", []), *item.get("terms", [])]:
            name, content = str(element.get("name", "")).lower(), clean_text(element.get("content"))
            if name and content:
                found.setdefault(name, []).append(content)
    return found


def document_title(tree: lxml.html.HtmlElement) -> str | None:
    title = tree.find(".//title")
    return title.text_content() if title is not None else None


def canonical_link(tree: lxml.html.HtmlElement) -> str | None:
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            return link.get("href")
    return None
