"""Choosing a page's publication date and authors among what it claims: the most precise date first, htmldate's
date as the fallback, a visible byline (trafilatura) when no metadata names anyone, never the site as author."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import lxml.html
from trafilatura.metadata import extract_author

from aggregator.adapters.fields import unique_texts
from aggregator.dates import date_precision, find_page_date, find_url_date

logger = logging.getLogger(__name__)
DAY, MONTH, YEAR = 3, 2, 1  # date_precision's levels


def pick_published(candidates: Iterable[str | None], parse: Callable[[str], datetime | None],
                   body: bytes, url: str) -> datetime | None:
    """The publication date: the first of the most precise `candidates` (page metadata in priority order).

    htmldate (`find_page_date`) decides when no candidate names a day: its day wins over a month- or
    year-only claim it agrees with, and stands alone when the page claims nothing. A full date in the
    URL path more than a day before the claimed one is the first publication (the page was re-dated
    since; htmldate reads URLs the same way).
    """
    claims = [(date_precision(text), value) for text in candidates if text and (value := parse(text)) is not None]
    precision, claimed = max(claims, key=lambda claim: claim[0], default=(0, None))  # max keeps the first
    if claimed is not None and precision == DAY:
        url_day = find_url_date(url)
        return url_day if url_day is not None and url_day < claimed - timedelta(days=1) else claimed
    found = find_page_date(body, url)
    if claimed is None or (found is not None and _agrees(found, claimed, precision)):
        return found
    return claimed


def pick_authors(candidates: Iterable[Iterable[str]], site_names: Iterable[str | None], url: str,
                 tree: lxml.html.HtmlElement) -> tuple[str, ...]:
    """The first candidate list that names someone other than the site; else the page's visible byline.

    A site-wide `<meta name=author>` (or a schema.org author) naming the site itself is no author:
    it is compared with the site's names and its host name, ignoring case, spaces and punctuation.
    """
    site = {_fold(name) for name in [*site_names, _host_label(url)] if name} - {""}
    for candidate in [*candidates, _byline(tree)]:
        names = unique_texts(name for name in candidate if _fold(name) not in site)
        if names:
            return names
    return ()


def _agrees(found: datetime, claimed: datetime, precision: int) -> bool:
    same_year = found.year == claimed.year
    return same_year and (precision == YEAR or found.month == claimed.month)


def _byline(tree: lxml.html.HtmlElement) -> list[str]:
    """The names in the page's visible byline ("By Jo Bloggs and Sam Smith"), as trafilatura reads them."""
    byline = extract_author(tree)  # it works on its own copy of the tree
    return [name.strip() for name in byline.split(";")] if byline else []


def _fold(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _host_label(url: str) -> str:
    """"kingsfund" for https://www.kingsfund.org.uk/...: the name a site is usually called by."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    return host.split(".")[0] if host else ""
