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


def tag_uri(base_url: str, specific: str) -> str:
    """A stable RFC 4151 tag: URI under the site's host name, e.g. tag:digest.example.org,2026:resource/42."""
    host = (urlsplit(base_url).hostname or "kindness-digest.invalid").lower()
    return f"tag:{host},{TAG_YEAR}:{specific}"


def xml_safe(text: str) -> str:
    """`text` without the characters XML 1.0 (and so every feed format) cannot carry."""
    return _NOT_XML.sub("", text)
