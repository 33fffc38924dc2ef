"""The `page` adapter: entries found on an HTML listing page by the CSS selectors in sources.yaml.

One entry per match of `selectors.container`; every other selector is looked up inside that match:

- `title` (required): its text, or its attribute when written `css @attr`. A match without a title
  is skipped and logged.
- `link`: its `href` (or the named attribute); without a `link` selector, the title's own link or
  the first link inside the title, else the first link in the container. Links are made absolute
  against the page's URL (and its `<base href>`); a match without an http(s) link is skipped and
  logged, never given a made-up URL.
- `date`: parsed by `aggregator.text.dates.parse_date`; a `<time datetime>` is preferred over its text.
  Without a `date` selector the container's first `<time datetime>` is used.
- `summary`: the matched element's inner HTML (several matches: each one's outer HTML), sanitised.
- `tags`: the text of every match.
- `fields`: named extras (speaker, affiliation, slides...) kept in `RawEntry.extra`: the text of the
  matches, or the first match's attribute (made absolute when it is `href` or `src`).

Event convention: the field names `event_date` (or `when`), `location` and `registration` fill
`RawEntry.event`: `event_date` is read by `dates.parse_event_time` ("5 June 2024, 12:30-13:30" gives a
start and an end), `location` becomes `Event.location` (and `online=True` when it says online,
virtual, Zoom, Teams or webinar), and `registration` must be a link (`css @href`) to be the
`registration_url`. An event is made only when `event_date` gives a start. The fields also stay in
`extra`, as the page wrote them.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
from collections.abc import Mapping
from types import MappingProxyType

import soupsieve
from bs4 import BeautifulSoup, Tag

from aggregator.config.source_options import PageSelectors, Selector
from aggregator.errors import ConfigError, ParseError
from aggregator.ingest.adapters.fields import absolute_url, unique_texts
from aggregator.model import EMPTY, Event, RawEntry
from aggregator.text.dates import parse_date, parse_event_time
from aggregator.text.sanitize import clean_html, clean_text, is_http_url

logger = logging.getLogger(__name__)

EVENT_DATE_FIELDS = ("event_date", "when")
LOCATION_FIELD = "location"
REGISTRATION_FIELD = "registration"
URL_ATTRIBUTES = frozenset({"href", "src"})
_ONLINE = re.compile(r"\b(online|virtual|zoom|ms teams|microsoft teams|teams|webinar)\b", re.IGNORECASE)
_NOT_HTML_STARTS = (b"%PDF", b"{", b"[", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff")
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]", re.IGNORECASE)
_TAG = re.compile(rb"<[!a-zA-Z]")
_INVISIBLE = ("script", "style", "template", "noscript")


def parse_page(
    body: bytes, base_url: str, selectors: PageSelectors, *, default_tz: str = "Europe/London", max_entries: int = 1000
) -> list[RawEntry]:
    """Entries on the page `body` (fetched from `base_url`), one per container match, in page order.

    A page whose container matches nothing gives [] (the pipeline treats that as layout drift);
    ParseError only when `body` is not HTML at all.
    """
    soup = read_html(body, base_url)
    base_url = _document_base(soup, base_url)
    containers = _select(soup, selectors.container)
    if len(containers) > max_entries:
        logger.warning(
            "page has more entries than allowed; keeping the first",
            extra={"url": base_url, "count": len(containers), "max_entries": max_entries},
        )
        containers = containers[:max_entries]
    entries = []
    for position, container in enumerate(containers, start=1):
        entry = parse_container(container, base_url, selectors, default_tz=default_tz)
        if entry is None:
            logger.info(
                "skipped a page entry without a title or an http(s) link", extra={"url": base_url, "position": position}
            )
            continue
        entries.append(entry)
    logger.debug("parsed page", extra={"url": base_url, "count": len(entries)})
    return entries


def read_html(body: bytes, url: str | None = None) -> BeautifulSoup:
    """`body` parsed by lxml through beautifulsoup4 (encoding from BOM/meta), scripts removed.

    Raises ParseError when the bytes are not an HTML document (empty, PDF, JSON, an image, a feed).
    """
    if not is_html(body):
        raise ParseError(
            f"not an HTML page: {url or 'body'} starts with {body[:20]!r}",
            hint="the page adapter reads HTML pages; use the feed adapter for RSS/Atom "
            "and check the URL in sources.yaml",
        )
    soup = BeautifulSoup(body, "lxml")
    for tag in soup.find_all(_INVISIBLE):
        tag.decompose()
    return soup


def is_html(body: bytes) -> bool:
    """True when `body` looks like an HTML document (not empty, binary, JSON or an RSS/Atom feed)."""
    head = body[:4096]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", "ignore").encode("utf-8")
    head = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not head or head.startswith(_NOT_HTML_STARTS) or b"\x00" in head:
        return False
    if _FEED_ROOT.search(head) and b"<html" not in head.lower():
        return False
    return _TAG.search(head) is not None


def parse_container(
    container: Tag, base_url: str, selectors: PageSelectors, *, default_tz: str = "Europe/London"
) -> RawEntry | None:
    """One RawEntry from one container match, or None when it has no title or no http(s) link."""
    title_tag = _select_one(container, selectors.title)
    title = clean_text(_value(title_tag, selectors.title)) if title_tag is not None else ""
    url = absolute_url(_find_link(container, title_tag, selectors.link), base_url)
    if not title or not url:
        return None
    extra = _read_fields(container, selectors.fields, base_url)
    return RawEntry(
        url=url,
        title=title,
        summary_html=_read_summary(container, selectors.summary, base_url),
        published=parse_date(_date_text(container, selectors.date), default_tz=default_tz),
        tags=unique_texts(_value(tag, selectors.tags) for tag in _select(container, selectors.tags)),
        event=make_event(extra, default_tz=default_tz),
        extra=MappingProxyType(extra) if extra else EMPTY,
    )


def make_event(extra: Mapping[str, str], *, default_tz: str = "Europe/London") -> Event | None:
    """An Event from the conventional field names (event_date/when, location, registration)."""
    when = next((extra[name] for name in EVENT_DATE_FIELDS if extra.get(name)), None)
    start, end = parse_event_time(when, default_tz=default_tz)
    if start is None:
        return None
    location = extra.get(LOCATION_FIELD) or None
    registration = extra.get(REGISTRATION_FIELD)
    return Event(
        start=start,
        end=end,
        timezone=default_tz,
        location=location,
        online=True if location and _ONLINE.search(location) else None,
        registration_url=registration if is_http_url(registration) else None,
    )


# --- reading one container ----------------------------------------------------------------------


def _find_link(container: Tag, title_tag: Tag | None, selector: Selector | None) -> str | None:
    if selector is not None:
        tag = _select_one(container, selector)
        return _attribute(tag, selector.attr or "href") if tag is not None else None
    for scope in (title_tag, container):
        if scope is None:
            continue
        if scope.name == "a" and scope.get("href"):
            return _attribute(scope, "href")
        anchor = scope.find("a", href=True)
        if anchor is not None:
            return _attribute(anchor, "href")
    return None


def _date_text(container: Tag, selector: Selector | None) -> str | None:
    if selector is None:
        stamp = container.find("time", datetime=True)
        return _attribute(stamp, "datetime") if stamp is not None else None
    tag = _select_one(container, selector)
    if tag is None:
        return None
    if selector.attr:
        return _attribute(tag, selector.attr)
    stamp = tag if tag.name == "time" and tag.get("datetime") else tag.find("time", datetime=True)
    return _attribute(stamp, "datetime") if stamp is not None else tag.get_text(" ", strip=True)


def _read_summary(container: Tag, selector: Selector | None, base_url: str) -> str | None:
    tags = _select(container, selector)
    if not tags or selector is None:
        return None
    if selector.attr:
        text = clean_text(_attribute(tags[0], selector.attr))
        fragment = f"<p>{html.escape(text, quote=False)}</p>" if text else ""
    elif len(tags) == 1:
        fragment = tags[0].decode_contents()
    else:
        fragment = "".join(str(tag) for tag in tags)
    cleaned = clean_html(fragment, base_url).strip()
    return cleaned or None


def _read_fields(container: Tag, fields: Mapping[str, Selector], base_url: str) -> dict[str, str]:
    extra: dict[str, str] = {}
    for name, selector in fields.items():
        tags = _select(container, selector)
        if not tags:
            continue
        if selector.attr:
            raw = _attribute(tags[0], selector.attr)
            value = absolute_url(raw, base_url) if selector.attr in URL_ATTRIBUTES else clean_text(raw)
        else:
            value = ", ".join(unique_texts(tag.get_text(" ", strip=True) for tag in tags))
        if value:
            extra[name] = value
    return extra


def _value(tag: Tag, selector: Selector | None) -> str:
    if selector is not None and selector.attr:
        return _attribute(tag, selector.attr) or ""
    return tag.get_text(" ", strip=True)


def _attribute(tag: Tag, name: str) -> str | None:
    value = tag.get(name)
    if isinstance(value, list):  # bs4 gives multi-valued attributes (class, rel) as lists
        value = " ".join(value)
    return value.strip() if value else None


def _select(scope: Tag, selector: Selector | None) -> list[Tag]:
    if selector is None:
        return []
    try:
        return list(scope.select(selector.css))
    except soupsieve.SelectorSyntaxError as exc:
        raise ConfigError(
            f"invalid CSS selector {selector.css!r}: {exc}",
            hint="fix the selector in sources.yaml; test it in the browser's console "
            "with document.querySelectorAll(...)",
        ) from None


def _select_one(scope: Tag, selector: Selector | None) -> Tag | None:
    found = _select(scope, selector)
    return found[0] if found else None


def _document_base(soup: BeautifulSoup, base_url: str) -> str:
    base = soup.find("base", href=True)
    declared = absolute_url(_attribute(base, "href"), base_url) if base is not None else None
    return declared or base_url
