"""The resource type a page says it is: schema.org @type of its main entity, og:type, citation_* meta, a recording."""

from __future__ import annotations

import re
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
# players of video and audio hosts a page embeds (a podcast host's player is the episode, as a video's is)
_PLAYER_HOSTS = (
    *("youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com", "dailymotion.com"),
    *("soundcloud.com", "spotify.com", "podbean.com", "buzzsprout.com", "libsyn.com", "anchor.fm", "audioboom.com"),
)
_MEDIA_FILE = re.compile(r"\.(?:mp3|m4a|aac|oga|ogg|opus|wav|mp4|m4v|webm|mov)$", re.IGNORECASE)
# A page whose main text (link text aside: menus and related lists) is longer than this is a write-up that
# embeds or links a recording, not the recording's own page.
VIDEO_PAGE_TEXT = 1500


def page_type(
    tree: lxml.html.HtmlElement,
    nodes: Sequence[Mapping[str, Any]],
    main: Mapping[str, Any],
    og: Mapping[str, Any],
    citation: Mapping[str, list[str]],
) -> ResourceType | None:
    """What the page says it is, first that speaks: the main schema.org node's @type, an Event node with a
    date and a place, og:type video.*, citation_* tags, a player or a recording on a short page; else None.

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
    return T.VIDEO if has_recording(tree) else None


def has_recording(tree: lxml.html.HtmlElement) -> bool:
    """A recording in the page's main content (or body) when that content is short: a video or podcast
    host's player, an HTML5 `<video>` or `<audio>` with controls, or a link to an audio or video file (by
    its stated type or its file name), the way a feed's enclosure gives an episode's file."""
    content = next(iter(tree.xpath("//main | //article | //*[@role='main']")), None)
    if content is None:
        content = tree.find("body")
    if content is None or not _has_media(content):
        return False
    return _own_text_length(content) <= VIDEO_PAGE_TEXT


def _has_media(content: lxml.html.HtmlElement) -> bool:
    players = (f.get("src") or f.get("data-src") or "" for f in content.iter("iframe", "embed"))
    if any(_is_player_host(src) for src in players):
        return True
    # with controls: a page's looping, muted background video is decoration, not its content
    if any(media.get("controls") is not None for media in content.iter("video", "audio")):
        return True
    for link in content.iter("a"):
        kind = (link.get("type") or "").lower()
        if kind.startswith(("audio/", "video/")) or _MEDIA_FILE.search(_path_of(link.get("href") or "")):
            return True
    return False


def _own_text_length(content: lxml.html.HtmlElement) -> int:
    """The length of the content's text less the text of its links."""
    whole = len(" ".join(content.text_content().split()))
    links = sum(len(" ".join(a.text_content().split())) for a in content.iter("a"))
    return whole - links


def _path_of(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:
        return ""


def _is_player_host(src: str) -> bool:
    try:
        host = urlsplit(src if "//" in src else "").hostname or ""
    except ValueError:
        return False
    return any(host == h or host.endswith("." + h) for h in _PLAYER_HOSTS)
