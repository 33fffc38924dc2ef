"""Choosing a page's publication date and authors among what it claims: the most precise date first, htmldate's
date when it claims none, a visible byline (trafilatura) when no metadata names anyone, never the site's name as
author or title."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import lxml.html
from trafilatura.metadata import extract_author, extract_title

from aggregator.ingest.adapters.fields import unique_texts
from aggregator.text.dates import date_precision, find_page_date, find_url_date

logger = logging.getLogger(__name__)
DAY = 3  # date_precision of a text that names a day


def pick_published(
    candidates: Iterable[str | None],
    parse: Callable[[str], datetime | None],
    body: bytes,
    url: str,
    *,
    guess: bool = True,
) -> datetime | None:
    """The publication date: the first of the most precise `candidates` (page metadata in priority order).

    htmldate (`find_page_date`) decides only when the page claims no date (and `guess` allows it: not when
    the page states a modification date only): it fills a month-only
    `citation_date` with today's day of the month, so it cannot refine one. A full date in the URL path
    more than a day before the claimed day is the first publication (the page was re-dated since;
    htmldate reads URLs first for the same reason).
    """
    claims = [(date_precision(text), value) for text in candidates if text and (value := parse(text)) is not None]
    precision, claimed = max(claims, key=lambda claim: claim[0], default=(0, None))  # max keeps the first
    if claimed is None:
        return find_page_date(body, url) if guess else None
    url_day = find_url_date(url) if precision == DAY else None
    return url_day if url_day is not None and url_day.date() < (claimed - timedelta(days=1)).date() else claimed


def pick_authors(
    candidates: Iterable[Iterable[str]], site_names: Iterable[str | None], url: str, tree: lxml.html.HtmlElement
) -> tuple[str, ...]:
    """The first candidate list that names someone other than the site; else the page's visible byline.

    A site-wide `<meta name=author>` (or a schema.org author) naming the site itself is no author:
    it is compared with the site's names and its host name ("kingsfund.org.uk", "kingsfund"), ignoring case,
    spaces and punctuation.
    """
    site = _site_keys(site_names, url)
    for candidate in [*candidates, _byline(tree)]:
        names = unique_texts(name for name in candidate if _fold(name) not in site)
        if names:
            return names
    return ()


def pick_title(
    candidates: Iterable[str | None], site_names: Iterable[str | None], url: str, tree: lxml.html.HtmlElement
) -> str | None:
    """The first candidate that is not just the site's name ("MEDEF", "carta.info"); else the page's own
    heading as trafilatura finds it; else the first candidate after all."""
    titles = [title for title in candidates if title]
    site = _site_keys(site_names, url)
    return (
        next((title for title in titles if _fold(title) not in site), None)
        or extract_title(tree)
        or next(iter(titles), None)
    )


def _byline(tree: lxml.html.HtmlElement) -> list[str]:
    """The names in the page's visible byline ("By Jo Bloggs and Sam Smith"), as trafilatura reads them."""
    byline = extract_author(tree)  # it works on its own copy of the tree
    return [name.strip() for name in byline.split(";")] if byline else []


def _site_keys(site_names: Iterable[str | None], url: str) -> set[str]:
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return {_fold(name) for name in [*site_names, host, host.split(".")[0]] if name} - {""}


def _fold(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())
