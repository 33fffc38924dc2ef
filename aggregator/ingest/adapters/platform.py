"""Recognising a partner site's platform from one of its pages, and the routes that platform offers, richest first."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from aggregator.ingest.adapters.discover import discover_feeds

# Richness, best first: an API gives every field, a category feed only the partner's own topic,
# a site feed everything, a page's metadata one resource, selectors whatever the layout shows.
RANKS: Mapping[str, int] = MappingProxyType(
    {"api": 0, "category-feed": 1, "site-feed": 2, "metadata": 3, "selectors": 4}
)
_DIGITS = re.compile(r"\d")
_CATEGORY = re.compile(r"/category/([^/]+)/?$")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SUMMARY_CLASS = re.compile(r"summary|excerpt|richtext|description|teaser", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Route:
    """One way to read a site: the adapter, its URL and options, and how rich it is."""

    kind: str  # a key of RANKS
    adapter: str
    url: str
    why: str
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False, compare=False)

    @property
    def rank(self) -> int:
        return RANKS[self.kind]


@dataclass(frozen=True, slots=True)
class Detection:
    """A page's platform, the evidence for it, and the routes it offers, richest first."""

    url: str
    platform: str  # wordpress, invision, eprints, govuk, plain
    evidence: str
    title: str
    routes: tuple[Route, ...]


def detect_platform(html: bytes, url: str) -> Detection:
    """The platform of the page `html` fetched from `url`, and its routes ranked by richness (pure)."""
    document = _document(html)
    title = _title(document)
    feeds = discover_feeds(html, url)
    platform, evidence = _platform(document, url)
    routes = list(_PLATFORM_ROUTES[platform](document, url, feeds))
    selectors = propose_selectors(html) if document is not None else None
    if selectors is not None:
        routes.append(
            Route(
                "selectors",
                "page",
                url,
                "CSS selectors on the page's repeated structure",
                MappingProxyType({"selectors": selectors}),
            )
        )
    unique = {(r.adapter, r.url, repr(dict(r.options))): r for r in reversed(routes)}
    ranked = sorted(reversed(unique.values()), key=lambda r: r.rank)
    return Detection(url=url, platform=platform, evidence=evidence, title=title, routes=tuple(ranked))


def _platform(document: Any, url: str) -> tuple[str, str]:
    host = urlsplit(url).hostname or ""
    if host == "www.gov.uk":
        return "govuk", "the host is www.gov.uk"
    if document is None:
        return "plain", "not an HTML page"
    generator = " ".join(document.xpath("//meta[@name='generator']/@content"))
    if document.xpath("//link[@rel='https://api.w.org/']") or "wordpress" in generator.lower():
        return "wordpress", '<link rel="https://api.w.org/"> / generator ' + (generator or "WordPress")
    if document.xpath("//meta[starts-with(@name, 'eprints.')]") or "eprints" in generator.lower():
        return "eprints", "eprints.* meta tags"
    body_class = " ".join(document.xpath("//body/@class"))
    if "ipsApp" in body_class or document.xpath("//a[contains(@href, 'invisioncommunity.com')]"):
        return "invision", "Invision Community markup (ipsApp)"
    return "plain", "no platform markers" + (" (feeds announced)" if document.xpath("//link[@rel='alternate']") else "")


def _wordpress_routes(document: Any, url: str, feeds: list[str]) -> list[Route]:
    api = next(iter(document.xpath("//link[@rel='https://api.w.org/']/@href")), None)
    api = urljoin(url, api) if api else _origin(url) + "/wp-json/"
    path = urlsplit(url).path
    category = _CATEGORY.search(path.removesuffix("feed/"))
    body_class = " ".join(document.xpath("//body/@class")).split()
    routes = []
    if category:
        routes.append(
            Route(
                "api",
                "wordpress",
                f"{api}wp/v2/posts",
                f"WordPress REST API, category {category.group(1)!r}",
                MappingProxyType({"wordpress": {"category": category.group(1)}}),
            )
        )
    elif "page" in body_class or "single" in body_class:
        routes.append(Route("metadata", "metadata", url, "a WordPress page or post: its own metadata"))
    else:
        routes.append(Route("api", "wordpress", f"{api}wp/v2/posts", "WordPress REST API, every post"))
    for feed in feeds:
        if "/comments/feed" in feed:
            continue
        kind = "category-feed" if "/category/" in feed else "site-feed"
        routes.append(Route(kind, "feed", feed, "WordPress " + kind.replace("-", " ")))
    return routes


def _invision_routes(document: Any, url: str, feeds: list[str]) -> list[Route]:
    routes = [Route("category-feed", "feed", feed, "Invision RSS export") for feed in feeds]
    if re.search(r"-r\d+/?$", urlsplit(url).path):
        routes.append(Route("metadata", "metadata", url, "an Invision Pages record: its own metadata"))
    return routes


def _eprints_routes(document: Any, url: str, feeds: list[str]) -> list[Route]:
    oai = next(
        (urljoin(url, href) for href in document.xpath("//a/@href") if href.rstrip("/").endswith("/cgi/oai2")),
        _origin(url) + "/cgi/oai2",
    )
    routes = [
        Route(
            "api", "oai-pmh", oai, "EPrints OAI-PMH (oai_dc)", MappingProxyType({"oai": {"metadata_prefix": "oai_dc"}})
        )
    ]
    if document.xpath("//meta[@name='citation_title']"):
        routes.append(Route("metadata", "metadata", url, "an EPrints item page: citation_* meta"))
    return routes


def _govuk_routes(document: Any, url: str, feeds: list[str]) -> list[Route]:
    path = urlsplit(url).path
    routes = [
        Route(
            "api",
            "govuk",
            f"https://www.gov.uk/api/content{path}",
            "GOV.UK Content API",
            MappingProxyType({"govuk": {"paths": [path]}}),
        )
    ]
    routes += [Route("site-feed", "feed", feed, "GOV.UK Atom feed") for feed in feeds]
    return routes


def _plain_routes(document: Any, url: str, feeds: list[str]) -> list[Route]:
    routes = [Route("site-feed", "feed", feed, "a feed the page announces (<link rel=alternate>)") for feed in feeds]
    if document is not None and document.xpath(
        "//meta[starts-with(@name, 'citation_') or starts-with(@property, 'og:')]"
    ):
        routes.append(Route("metadata", "metadata", url, "the page's own metadata (citation_*, OpenGraph)"))
    return routes


_PLATFORM_ROUTES = {
    "wordpress": _wordpress_routes,
    "invision": _invision_routes,
    "eprints": _eprints_routes,
    "govuk": _govuk_routes,
    "plain": _plain_routes,
}


def propose_selectors(html: bytes) -> dict[str, str] | None:
    """Selectors for the page's largest group of similar siblings that each hold a link; None when there is none."""
    document = _document(html)
    if document is None:
        return None
    best: tuple[int, Any, tuple[str, str]] | None = None
    for parent in document.iter():
        if not isinstance(parent.tag, str) or parent.tag in ("head", "nav", "header", "footer", "html"):
            continue
        children = [c for c in parent if isinstance(c.tag, str) and c.xpath(".//a[@href]")]
        counts = Counter(_signature(c) for c in children)
        if not counts:
            continue
        signature, count = counts.most_common(1)[0]
        if count >= 3 and not parent.xpath("ancestor-or-self::nav") and (best is None or count > best[0]):
            best = (count, parent, signature)
    if best is None:
        return None
    _, parent, (tag, cls) = best
    container = f"{_simple_selector(parent)} > {tag}" + (f".{cls}" if cls else "")
    first = next(c for c in parent if isinstance(c.tag, str) and _signature(c) == (tag, cls))
    return _inner_selectors(container, first)


def _inner_selectors(container: str, first: Any) -> dict[str, str]:
    heading = next((h for h in first.iter(*_HEADINGS)), None)
    if heading is not None:
        title = _simple_selector(heading) + (" a" if heading.xpath(".//a[@href]") else "")
    else:
        title = "a"
    selectors = {"container": container, "title": title}
    if title.endswith("a"):
        selectors["link"] = f"{title} @href"
    if first.xpath(".//time[@datetime]"):
        selectors["date"] = "time @datetime"
    summary = next((e for e in first.iter("p", "div") if _SUMMARY_CLASS.search(e.get("class") or "")), None)
    if summary is not None:
        selectors["summary"] = _simple_selector(summary)
    if first.xpath(".//a[contains(concat(' ', @rel, ' '), ' tag ')]"):
        selectors["tags"] = 'a[rel~="tag"]'
    return selectors


def _signature(element: Any) -> tuple[str, str]:
    classes = [c for c in (element.get("class") or "").split() if not _DIGITS.search(c)]
    return element.tag, (classes[0] if classes else "")


def _simple_selector(element: Any) -> str:
    if element.get("id") and not _DIGITS.search(element.get("id")):
        return f"{element.tag}#{element.get('id')}"
    _, cls = _signature(element)
    return f"{element.tag}.{cls}" if cls else element.tag


def _document(html: bytes) -> Any:
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _title(document: Any) -> str:
    if document is None:
        return ""
    og = document.xpath("//meta[@property='og:title']/@content")
    text = og[0] if og else " ".join(document.xpath("//title//text()"))
    return " ".join(text.split())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))
