"""The values a published feed is made of: which feed, in which format, and the entries it carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

FeedKind = Literal["all", "theme", "audience"]
FormatName = Literal["rss", "atom", "json"]
# The year in every tag: URI we mint; fixed, so that guids never change (RFC 4151: a date the
# authority held its name).
TAG_YEAR = "2026"
# Characters XML 1.0 forbids (lxml refuses them) and lone surrogates (UTF-8 cannot encode them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class FeedFormat:
    name: FormatName
    extension: str
    media_type: str


FORMATS: dict[str, FeedFormat] = {
    "rss": FeedFormat("rss", "rss", "application/rss+xml"),
    "atom": FeedFormat("atom", "atom", "application/atom+xml"),
    "json": FeedFormat("json", "json", "application/feed+json"),
}


@dataclass(frozen=True, slots=True)
class FeedKey:
    """Which feed: the combined one, or one theme's or one audience's."""

    kind: FeedKind
    label_id: str | None = None

    @property
    def stem(self) -> str:
        """The path under /feeds/ without the extension: "all", "theme/kindness"."""
        return "all" if self.kind == "all" else f"{self.kind}/{self.label_id}"


ALL = FeedKey("all")


@dataclass(frozen=True, slots=True)
class FeedCategory:
    kind: str  # theme | audience
    id: str
    name: str
    scheme: str  # a URI naming the vocabulary: the folder of that kind's feeds


@dataclass(frozen=True, slots=True)
class FeedEvent:
    """When and where an event takes place (times are UTC; `timezone` is the one to show them in)."""

    start: datetime
    end: datetime | None = None
    timezone: str | None = None
    location: str | None = None
    online: bool | None = None
    registration_url: str | None = None


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One resource (or one archived issue) as a feed shows it; fetched text is made safe when rendered."""

    guid: str
    title: str
    url: str | None
    published: datetime
    updated: datetime
    summary: str = ""  # plain text
    summary_html: str = ""  # sanitised HTML; sanitised again when rendered
    authors: tuple[str, ...] = ()
    categories: tuple[FeedCategory, ...] = ()
    image_url: str | None = None
    event: FeedEvent | None = None
    also_listed_on: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Feed:
    """A whole feed, independent of its format. `url_stem` + "." + extension is its own address."""

    id: str
    title: str
    description: str
    home_url: str
    url_stem: str
    publisher: str
    updated: datetime
    entries: tuple[FeedEntry, ...]

    def self_url(self, fmt: str) -> str:
        return f"{self.url_stem}.{FORMATS[fmt].extension}"


def tag_uri(authority: str, specific: str) -> str:
    """A stable RFC 4151 tag: URI, e.g. tag:digest.kindness-in-care.example,2026:issue/2026-11.

    The authority is the list's own name (its List-Id domain), not the host it is served from: moving
    the site to another address must not make every reader show every item again."""
    return f"tag:{authority.lower()},{TAG_YEAR}:{specific}"


def list_authority(list_id: str) -> str:
    """The domain of an RFC 2919 List-Id ("Name <digest.example.org>" -> "digest.example.org")."""
    inside = list_id.rsplit("<", 1)[-1].rstrip("> ").strip()
    return inside or (urlsplit(list_id).hostname or "kindness-digest.invalid")


def resource_guid(canonical_url: str, stored: str | None = None) -> str:
    """A resource's feed id: the one readers already have (stored), else its own canonical URL, which no
    base URL or rebuilt database changes."""
    return stored or canonical_url


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 (and so every feed format) cannot carry."""
    return _NOT_XML.sub("", text)
