"""Values that flow between pipeline stages: RawEntry from adapters, Resource after normalising."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

EMPTY: Mapping[str, str] = MappingProxyType({})
SUGGESTED = "suggested"  # the pseudo-source every suggested resource is listed by (not in sources.yaml, never fetched)


class ResourceType(str, enum.Enum):
    """What kind of resource an entry describes."""

    EVENT = "event"
    CASE_STUDY = "case-study"
    REPORT = "report"
    RESEARCH = "research"
    TOOLKIT = "toolkit"
    POLICY = "policy"
    VIDEO = "video"
    NEWS = "news"


class ResourceStatus(enum.StrEnum):
    """Where a resource is in review: pending -> approved | rejected (merged ones live on in another)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"


class IssueStatus(enum.StrEnum):
    """Where a month's issue is: draft -> approved -> sending -> sent."""

    DRAFT = "draft"
    APPROVED = "approved"
    SENDING = "sending"
    SENT = "sent"


class DeliveryStatus(enum.StrEnum):
    """Where one subscriber's copy of an issue is: pending -> sent | failed | bounced | skipped | parked."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"  # the server refused the address (5xx to RCPT)
    SKIPPED = "skipped"
    PARKED = "parked"


class SubscriberStatus(enum.StrEnum):
    """Where a subscriber is: pending (unconfirmed) -> active <-> paused; unsubscribed and bounced end it."""

    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


@dataclass(frozen=True, slots=True)
class Event:
    """When and where an event (seminar, monthly conversation) takes place."""

    start: datetime | None = None  # timezone-aware when the source says the time
    end: datetime | None = None
    timezone: str | None = None  # IANA name, e.g. "Europe/London"
    location: str | None = None
    online: bool | None = None
    registration_url: str | None = None


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as an adapter found it: fields are as the source gave them, HTML already sanitised.

    Adapters are pure (bytes and base URL in, RawEntry out); every datetime is timezone-aware UTC.
    """

    url: str  # absolute link to the resource
    title: str  # plain text (may still contain entities decoded); never HTML
    guid: str | None = None  # the source's own stable id (feed guid, OAI identifier, GOV.UK content_id)
    summary_html: str | None = None  # sanitised HTML (nh3); None when the source gave none
    content_html: str | None = None  # sanitised full content, when the source gives it
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # the partner's own tags/categories, as text
    type_hint: ResourceType | None = None  # when the platform states the type (GOV.UK document type, schema.org)
    doi: str | None = None
    event: Event | None = None
    image_url: str | None = None
    extra: Mapping[str, str] = field(
        default_factory=lambda: EMPTY
    )  # named extra fields (speaker, affiliation, slides, ...)


@dataclass(frozen=True, slots=True)
class Resource:
    """A normalised entry from one source, ready to store: canonical URL, clean text, bounded fields."""

    source_id: str
    key: str  # identity within its source: "guid:<guid>" or "url:<canonical url>"
    url: str
    canonical_url: str
    title: str
    summary: str  # plain text, bounded
    summary_html: str  # sanitised HTML, bounded ("" when none)
    type: ResourceType
    published: datetime | None = None
    updated: datetime | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    doi: str | None = None
    event: Event | None = None
    image_url: str | None = None
    extra: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    content_hash: str = ""  # hash of the stored fields: an unchanged entry costs no write
    # the page or platform stated the type (schema.org, a GOV.UK document type, an event date, a DOI...);
    # False: normalising guessed it from the text, and the classifier's type model decides it at labelling
    type_stated: bool = True
