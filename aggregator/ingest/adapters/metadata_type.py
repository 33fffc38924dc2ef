"""The resource type a page says it is: schema.org @type of its main entity, og:type, citation_* meta, an embedded video."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import lxml.html

from aggregator.ingest.adapters.metadata_values import one
from aggregator.ingest.adapters.schema_org import is_event_node, node_text, schema_type_hint
from aggregator.model import ResourceType

T = ResourceType
# Highwire tags that say what kind of work this is
_CITATION_TYPES = (
    ("citation_technical_report_institution", T.REPORT),
    ("citation_technical_report_number", T.REPORT),
    ("citation_journal_title", T.RESEARCH),
    ("citation_conference_title", T.RESEARCH),
    ("citation_dissertation_institution", T.RESEARCH),
    ("citation_doi", T.RESEARCH),  # Highwire tags with a DOI: a scholarly work, whatever platform prints them
)
_VIDEO_HOSTS = ("youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com")
# A page whose main text is longer than this is a write-up that embeds a video, not the video's own page.
VIDEO_PAGE_TEXT = 1500


def page_type(
    tree: lxml.html.HtmlElement,
    nodes: Sequence[Mapping[str, Any]],
    main: Mapping[str, Any],
    og: Mapping[str, Any],
    citation: Mapping[str, list[str]],
) -> ResourceType | None:
    """What the page says it is, first that speaks: the main schema.org node's @type, an Event node with a
    date and a place, og:type video.*, citation_* tags, a YouTube/Vimeo embed on a short page; else None.

    og:type "article" says nothing more than the default (text cues decide, and news when none does)."""
    if (kind := schema_type_hint(main)) is not None:
        return kind
    if any(is_event_node(n) and node_text(n, "startDate") and n.get("location") for n in nodes):
        return T.EVENT
    if (one(og, "@type", "og:type") or "").lower().startswith("video"):
        return T.VIDEO
    for name, kind in _CITATION_TYPES:
        if citation.get(name):
            return kind
    return T.VIDEO if has_video_embed(tree) else None


def has_video_embed(tree: lxml.html.HtmlElement) -> bool:
    """A YouTube or Vimeo player in the page's main content (or body) when that content is short."""
    content = next(iter(tree.xpath("//main | //article | //*[@role='main']")), None)
    if content is None:
        content = tree.find("body")
    if content is None:
        return False
    sources = [f.get("src") or f.get("data-src") or "" for f in content.iter("iframe", "embed")]
    if not any(_is_video_host(src) for src in sources):
        return False
    return len(" ".join(content.text_content().split())) <= VIDEO_PAGE_TEXT


def _is_video_host(src: str) -> bool:
    try:
        host = urlsplit(src if "//" in src else "").hostname or ""
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in _VIDEO_HOSTS)
