"""schema.org nodes (JSON-LD and microdata, as extruct's uniform dicts): finding the page's main node and reading it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from aggregator.ingest.adapters.fields import absolute_url, unique_texts
from aggregator.model import Event, ResourceType
from aggregator.text.dates import parse_date
from aggregator.text.sanitize import clean_text

logger = logging.getLogger(__name__)
PROFILE_LINK = re.compile(r"^(?:https?://|/|www\.)", re.IGNORECASE)  # a profile link, not an author's name


def first_url(base_url: str, *candidates: str | None) -> str | None:
    """The first candidate that makes an absolute http(s) URL against `base_url`."""
    return next((u for u in (absolute_url(c, base_url) for c in candidates) if u), None)


# Nodes that describe the site, not the page's subject; the main node is never one of these
# unless nothing else has a name.
_SITE_TYPES = frozenset(
    {
        "WebSite",
        "Organization",
        "Corporation",
        "GovernmentOrganization",
        "NGO",
        "Person",
        "BreadcrumbList",
        "ListItem",
        "ImageObject",
        "SearchAction",
        "SiteNavigationElement",
        "WPHeader",
        "WPFooter",
        "WPSideBar",
        "Offer",
        "AggregateOffer",
        "AggregateRating",
        "Rating",
        "PostalAddress",
        "Place",
        "EntryPoint",
        "ReadAction",
    }
)
_PAGE_TYPES = frozenset({"WebPage", "AboutPage", "CollectionPage", "ItemPage", "SearchResultsPage", "ContactPage"})
_TYPE_HINTS = {
    "ScholarlyArticle": ResourceType.RESEARCH,
    "MedicalScholarlyArticle": ResourceType.RESEARCH,
    "Thesis": ResourceType.RESEARCH,
    "Report": ResourceType.REPORT,
    "VideoObject": ResourceType.VIDEO,
    "NewsArticle": ResourceType.NEWS,
    # NewsArticle's subtypes
    **dict.fromkeys(
        (
            "AnalysisNewsArticle",
            "AskPublicNewsArticle",
            "BackgroundNewsArticle",
            "OpinionNewsArticle",
            "ReportageNewsArticle",
            "ReviewNewsArticle",
        ),
        ResourceType.NEWS,
    ),
    # software is a tool to use, as a toolkit is
    **dict.fromkeys(
        ("SoftwareApplication", "WebApplication", "MobileApplication", "SoftwareSourceCode"), ResourceType.TOOLKIT
    ),
    "LearningResource": ResourceType.TOOLKIT,
    **dict.fromkeys(("Episode", "RadioEpisode", "TVEpisode"), ResourceType.VIDEO),
    "GovernmentService": ResourceType.POLICY,
    "Legislation": ResourceType.POLICY,
    "LegislationObject": ResourceType.POLICY,
    "HowTo": ResourceType.TOOLKIT,
    "Course": ResourceType.TOOLKIT,
    "PodcastEpisode": ResourceType.VIDEO,
    "AudioObject": ResourceType.VIDEO,
    "JobPosting": ResourceType.NEWS,  # a vacancy: news by the taxonomy's rule, never an event
}


def find_schema_nodes(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Top-level schema.org nodes (with @graph and a WebPage's mainEntity unfolded), the main one first."""
    nodes: list[dict[str, Any]] = []
    for item in items:
        graph = item.get("@graph") if isinstance(item, dict) else None
        for node in graph if isinstance(graph, list) else [item]:
            if isinstance(node, dict):
                nodes.append(node)
                if isinstance(node.get("mainEntity"), dict):
                    nodes.append(node["mainEntity"])
    named = _named_main_entities(nodes)
    # stable: page order within a rank; the entity a WebPage names as its mainEntity comes first
    return sorted(nodes, key=lambda node: -1 if node.get("@id") in named and _rank(node) < 3 else _rank(node))


def main_node(nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """The node the page is about (`nodes` as find_schema_nodes orders them); {} when every node describes
    the site (a Person, Organization, WebSite or BreadcrumbList): their names are not the page's title."""
    return nodes[0] if nodes and _rank(nodes[0]) < 3 else {}


def _named_main_entities(nodes: Iterable[Mapping[str, Any]]) -> set[str]:
    """The @ids that WebPage nodes name as their mainEntity."""
    ids: set[str] = set()
    for node in nodes:
        if node_types(node) & _PAGE_TYPES and isinstance(node.get("mainEntity"), dict):
            ids.add(str(node["mainEntity"].get("@id") or ""))
    return ids - {""}


def is_event_node(node: Mapping[str, Any]) -> bool:
    return any(kind.endswith("Event") for kind in node_types(node))


def schema_type_hint(node: Mapping[str, Any]) -> ResourceType | None:
    """The resource type a schema.org @type states (Event and its subtypes -> event), or None."""
    if is_event_node(node):
        return ResourceType.EVENT
    return next((_TYPE_HINTS[kind] for kind in node_types(node) if kind in _TYPE_HINTS), None)


def page_nodes(nodes: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [node for node in nodes if node_types(node) & _PAGE_TYPES]


def _rank(node: Mapping[str, Any]) -> int:
    types = node_types(node)
    named = bool(node_text(node, "headline", "name"))
    if types & _SITE_TYPES or not named:
        return 3 if named else 4
    if types & _PAGE_TYPES:
        return 1
    return 0 if types else 2


def node_types(node: Mapping[str, Any]) -> set[str]:
    """@type values without their vocabulary IRI ("http://schema.org/Event" -> "Event")."""
    value = node.get("@type") or node.get("type") or []
    values = value if isinstance(value, list) else [value]
    return {re.split(r"[/#:]", v.rstrip("/"))[-1] for v in values if isinstance(v, str) and v}


def node_values(node: Mapping[str, Any], *keys: str) -> list[str]:
    """String values under `keys`; from objects their value, url, @id or name (PropertyValue, Thing)."""
    found: list[str] = []
    for key in keys:
        value = node.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                item = next((item[k] for k in ("value", "url", "@id", "name") if isinstance(item.get(k), str)), None)
            if isinstance(item, (str, int, float)) and str(item).strip():
                found.append(str(item).strip())
    return found


def node_text(node: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = node.get(key)
        value = value[0] if isinstance(value, list) and value else value
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def node_names(node: Mapping[str, Any], *keys: str) -> list[str]:
    names: list[str] = []
    for key in keys:
        value = node.get(key)
        for item in value if isinstance(value, list) else [value]:
            name = node_text(item, "name") if isinstance(item, dict) else item
            if isinstance(name, str) and name.strip() and not PROFILE_LINK.match(name):
                names.append(name)
    return names


def node_image(node: Mapping[str, Any]) -> str | None:
    value = node.get("image") or node.get("thumbnailUrl")
    value = value[0] if isinstance(value, list) and value else value
    return (
        node_text(value, "url", "contentUrl") if isinstance(value, dict) else value if isinstance(value, str) else None
    )


def node_pdf_url(node: Mapping[str, Any]) -> str | None:
    for media in [node, *(m for key in ("encoding", "associatedMedia") for m in _as_list(node.get(key)))]:
        if isinstance(media, dict):
            link = node_text(media, "contentUrl")
            if link and ("pdf" in str(media.get("encodingFormat", "")).lower() or link.lower().endswith(".pdf")):
                return link
    return None


def node_event(node: Mapping[str, Any], base_url: str, default_tz: str) -> Event:
    location = _as_list(node.get("location"))
    place = location[0] if location else None
    mode = str(node.get("eventAttendanceMode") or "")
    online = any(isinstance(p, dict) and "VirtualLocation" in node_types(p) for p in location) or "Online" in mode
    offers = _as_list(node.get("offers"))
    return Event(
        start=parse_date(node_text(node, "startDate"), default_tz=default_tz),
        end=parse_date(node_text(node, "endDate"), default_tz=default_tz),
        timezone=default_tz,
        location=_place_text(place),
        online=True if online or "Mixed" in mode else (False if "Offline" in mode else None),
        registration_url=first_url(base_url, *(node_text(o, "url") for o in offers if isinstance(o, dict))),
    )


def _place_text(place: Any) -> str | None:
    if isinstance(place, str):
        return clean_text(place) or None
    if not isinstance(place, dict) or "VirtualLocation" in node_types(place):
        return None
    address = place.get("address")
    if isinstance(address, dict):
        address = ", ".join(node_values(address, "streetAddress", "addressLocality", "postalCode"))
    parts = unique_texts([node_text(place, "name"), address if isinstance(address, str) else None])
    return ", ".join(parts) or None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]
