"""The publication date of an HTML page or of its URL path, found offline by htmldate."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import htmldate

logger = logging.getLogger(__name__)


def find_page_date(html: bytes | str, url: str | None = None, *, extensive: bool = True) -> datetime | None:
    """Original publication date of an HTML page (htmldate, offline), as midnight UTC of that day.

    htmldate downloads a str that looks like a URL, so the page always goes in as bytes; `url` is
    only read for dates in its path (/2024/06/...).
    """
    body = html.encode("utf-8") if isinstance(html, str) else html
    if not body or b"<" not in body[:4096]:
        return None
    try:
        found = htmldate.find_date(
            body, extensive_search=extensive, original_date=True, outputformat="%Y-%m-%d", url=url
        )
    except (ValueError, TypeError) as exc:  # htmldate refuses some non-HTML inputs this way
        logger.debug("htmldate could not read the page", extra={"url": url, "error": str(exc)})
        return None
    if not found:
        return None
    day = date.fromisoformat(found)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def find_url_date(url: str | None) -> datetime | None:
    """The full date a URL's path carries (/2024/06/05/...), as midnight UTC, or None (htmldate reads it)."""
    if not url:
        return None
    # htmldate looks at the URL before the page, so an empty page leaves only the URL to read
    return find_page_date(b"<html><body></body></html>", url, extensive=False)
