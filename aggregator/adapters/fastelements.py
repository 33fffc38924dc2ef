"""Reading the child elements of one entry for the lxml fast path (fastfeed): text leaves, media, and
what feedparser would make of a tag the fast path does not read (nothing, or a reason to decline)."""

from __future__ import annotations

import functools
from collections.abc import Mapping

from feedparser.mixin import _FeedParserMixin
from lxml import etree

from aggregator.adapters.fields import DeclinedError, pick_media, repair_text
from aggregator.model import EMPTY

MEDIA = "{http://search.yahoo.com/mrss/}"
IGNORE = "ignore"
MEDIA_TAGS = {MEDIA + "thumbnail": "media_thumbnail", MEDIA + "content": "media_content", MEDIA + "group": "media_group"}
MEDIA_KINDS = frozenset(MEDIA_TAGS.values())
# feedparser handlers reviewed as not touching any RawEntry field (rights, language, contributors).
_HARMLESS = frozenset({"source", "rights", "copyright", "dc_rights", "dc_language", "language", "contributor"})
_HANDLERS = frozenset(name[7:] for name in dir(_FeedParserMixin) if name.startswith("_start_")) | frozenset(
    {"content_encoded", "dc_creator", "dc_date", "media_thumbnail", "media_content", "media_group"})

@functools.lru_cache(maxsize=512)
def _unknown_rule(tag: str, prefix: str | None) -> str:
    """How feedparser treats an element of a tag not read here: IGNORE when it has no handler for it or one
    touching no RawEntry field, "decline" when it has one that might, "leaf" when only children would reach one.

    feedparser names handlers by namespace URI where it knows the namespace, else by the document's prefix.
    """
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    prefix = _FeedParserMixin._matchnamespaces.get(namespace.lower(), prefix) if namespace else ""
    name = f"{prefix}_{local.lower()}" if prefix else local.lower()
    if name in _HARMLESS:
        return IGNORE
    return "decline" if name in _HANDLERS else "leaf"


def unknown_kind(element: etree._Element) -> str:
    """IGNORE for a child outside the known tags that feedparser reads into no RawEntry field, else DeclinedError."""
    tag = element.tag
    if not isinstance(tag, str):  # an entity reference
        return IGNORE
    rule = _unknown_rule(tag, element.prefix)
    if rule == "decline" or (rule == "leaf" and len(element)):
        raise DeclinedError(f"element {tag}")
    return IGNORE


def leaf_text(element: etree._Element, allowed: tuple[str, ...] = ()) -> str:
    """Stripped, repaired text of a leaf; markup inside or attributes (type, mode, href) are feedparser's."""
    text = leaf(element, allowed).text
    if not text:
        return ""
    text = text.strip()
    return text if text.isascii() else repair_text(text)  # repair_text's own first test, saving the call


def leaf(element: etree._Element, allowed: tuple[str, ...] = ()) -> etree._Element:
    """`element`, once checked to hold text only, with no attributes but `allowed`."""
    if len(element):
        raise DeclinedError(f"markup inside {element.tag}")
    for name in element.keys():  # cheaper than building the attrib mapping
        if name not in allowed:
            raise DeclinedError(f"attribute {name} on {element.tag}")
    return element


def set_once(fields: dict[str, object], key: str, value: object) -> None:
    if key in fields:
        raise DeclinedError(f"repeated {key}")
    fields[key] = value


class Media:
    """An entry's media elements and enclosures; built only for the few entries that have any."""

    __slots__ = ("thumbnails", "content", "enclosures")

    def __init__(self) -> None:
        self.thumbnails: list[str | None] = []
        self.content: list[tuple[str | None, str, str]] = []
        self.enclosures: list[tuple[str | None, str]] = []


def media_fields(media: Media | None, base_url: str) -> tuple[str | None, Mapping[str, str]]:
    if media is None:
        return None, EMPTY  # what pick_media gives for no media at all
    return pick_media(media.thumbnails, media.content, media.enclosures, base_url)


def read_media(element: etree._Element, key: str, media: Media | None) -> Media:
    """`media` (a new one when None) with the media element `element` (of kind `key`) added."""
    media = media or Media()
    if key == "media_group":
        for child in element:
            child_key = MEDIA_TAGS.get(child.tag)
            if child_key not in ("media_thumbnail", "media_content"):
                raise DeclinedError("media:group content")
            read_media(child, child_key, media)
        return media
    if len(element) or (element.text or "").strip():
        raise DeclinedError(f"{key} with content")
    if key == "media_thumbnail":
        media.thumbnails.append(element.get("url"))
    else:
        media.content.append((element.get("url"), element.get("type") or "", element.get("medium") or ""))
    return media
