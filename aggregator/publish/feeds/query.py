"""Reading the feeds' content from the store: approved resources, newest decisions first, as Feed values."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from types import MappingProxyType
from typing import NamedTuple

from sqlalchemy import Connection, func, select

from aggregator.db.schema import entries, issues, labels, resources
from aggregator.errors import ConfigError
from aggregator.model import IssueStatus, ResourceStatus
from aggregator.publish.feeds.model import (
    ALL,
    Feed,
    FeedCategory,
    FeedEntry,
    FeedEvent,
    FeedKey,
    list_authority,
    resource_guid,
    tag_uri,
)
from aggregator.settings import Settings
from aggregator.text.clean import outgoing_url
from aggregator.text.sanitize import is_http_url

logger = logging.getLogger(__name__)
DEFAULT_LIMIT = 100
DEFAULT_PUBLISHER = "Kindness in care digest"
# The date an empty feed reports as its last change: fixed, so that an empty feed keeps one ETag.
EMPTY_FEED_UPDATED = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedContext:
    """What a feed needs besides the database: where it lives, who publishes it, the names to show."""

    base_url: str  # the web app's public address, without a trailing slash
    publisher: str = DEFAULT_PUBLISHER
    label_names: Mapping[tuple[str, str], str] = field(default_factory=lambda: MappingProxyType({}))
    source_names: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    limit: int = DEFAULT_LIMIT
    tag_authority: str = "kindness-digest.invalid"  # the list's own name (List-Id domain): feed and issue ids

    @property
    def feeds_url(self) -> str:
        return f"{self.base_url}/feeds/"

    def keys(self) -> tuple[FeedKey, ...]:
        """Every feed there is: the combined one, then one per theme, then one per audience."""
        themes = [FeedKey("theme", i) for (k, i) in self.label_names if k == "theme"]
        audiences = [FeedKey("audience", i) for (k, i) in self.label_names if k == "audience"]
        return (ALL, *themes, *audiences)

    def has_feed(self, key: FeedKey) -> bool:
        return key.kind == "all" or (key.kind, key.label_id or "") in self.label_names

    def feed_title(self, key: FeedKey) -> str:
        if key.kind == "all":
            return self.publisher
        name = self.label_names[(key.kind, key.label_id or "")]
        return f"{self.publisher}: {name}" if key.kind == "theme" else f"{self.publisher}: for {name}"

    def feed_description(self, key: FeedKey) -> str:
        what = "Resources on compassion and kindness in health and care, chosen by the editors"
        if key.kind == "all":
            return what + "."
        name = self.label_names[(key.kind, key.label_id or "")]
        return f"{what}: {'the theme' if key.kind == 'theme' else 'for'} {name}."


def load_context(settings: Settings, *, limit: int = DEFAULT_LIMIT) -> FeedContext:
    """The context from settings, taxonomy.yaml (label names) and sources.yaml (partner names)."""
    from aggregator.config.sources import public_names, read_sources
    from aggregator.config.taxonomy import read_taxonomy

    taxonomy = read_taxonomy(settings.taxonomy_file)
    names = {("theme", t.id): t.name for t in taxonomy.themes}
    names.update({("audience", a.id): a.name for a in taxonomy.audiences})
    try:
        sources = public_names(read_sources(settings.sources_file).sources)
    except ConfigError as exc:  # partner names are a nicety: show source ids rather than no feed
        logger.warning("sources.yaml not read, feeds show source ids: %s", exc)
        sources = {}
    publisher = parseaddr(settings.mail.from_address)[0].strip() or DEFAULT_PUBLISHER
    return FeedContext(
        settings.base_url.rstrip("/"),
        publisher,
        MappingProxyType(names),
        MappingProxyType(sources),
        limit,
        list_authority(settings.mail.list_id),
    )


def load_feed(conn: Connection, key: FeedKey, context: FeedContext) -> Feed:
    """The feed `key`: its newest approved resources (by editors' decision), at most `context.limit`."""
    if not context.has_feed(key):
        raise KeyError(f"no feed {key.stem}")
    newest = func.coalesce(resources.c.decided_at, resources.c.modified_at)
    query = select(resources).where(resources.c.status == ResourceStatus.APPROVED)
    if key.kind != "all":
        query = query.where(
            resources.c.id.in_(
                select(labels.c.resource_id).where(labels.c.kind == key.kind, labels.c.label_id == key.label_id)
            )
        )
    rows = conn.execute(query.order_by(newest.desc(), resources.c.id.desc()).limit(context.limit)).all()
    ids = [r.id for r in rows]
    categories = _categories(conn, ids, context)
    listed = _listed_on(conn, ids, context.source_names)
    feed_entries = tuple(_entry(r, context, categories.get(r.id, ()), listed.get(r.id, ())) for r in rows)
    changed = [at for r in rows for at in (r.modified_at, r.decided_at) if at is not None]
    return Feed(
        id=tag_uri(context.tag_authority, f"feeds/{key.stem}"),
        title=context.feed_title(key),
        description=context.feed_description(key),
        home_url=context.base_url + "/",
        url_stem=context.feeds_url + key.stem,
        publisher=context.publisher,
        updated=to_second(max(changed)) if changed else EMPTY_FEED_UPDATED,
        entries=feed_entries,
    )


class Changes(NamedTuple):
    """The newest of each kind of change the public pages depend on."""

    decided: datetime | None  # an editor approved, rejected or reopened something: a resource left a feed
    modified: datetime | None  # a resource was edited or fetched again
    sent: datetime | None  # an issue was sent (or a sent one changed)


def newest_change(conn: Connection) -> Changes:
    """The newest editors' decision, the newest change to any resource and the newest change to a sent
    issue: two indexed maxima and one over the issues (a row a month), cheap enough to read on every request
    as the public pages' cache stamp."""
    row = conn.execute(
        select(
            select(func.max(resources.c.decided_at)).scalar_subquery(),
            select(func.max(resources.c.modified_at)).scalar_subquery(),
            select(func.max(issues.c.updated_at)).where(issues.c.status == IssueStatus.SENT).scalar_subquery(),
        )
    ).one()
    return Changes(*row)


def _entry(row, context: FeedContext, categories: tuple[FeedCategory, ...], listed: Sequence[str]) -> FeedEntry:
    url = row.url if is_http_url(row.url) else row.canonical_url if is_http_url(row.canonical_url) else None
    url = outgoing_url(url) if url else None  # readers follow it: no partner's tracking parameters
    published = to_second(row.published_at or row.decided_at or row.created_at)
    updated = max(published, to_second(row.updated_at)) if row.updated_at else published
    event = None
    if row.event_start is not None:
        event = FeedEvent(
            to_second(row.event_start),
            to_second(row.event_end) if row.event_end else None,
            row.event_timezone,
            row.event_location,
            row.event_online,
            outgoing_url(row.registration_url) if row.registration_url else None,
        )
    return FeedEntry(
        guid=resource_guid(row.canonical_url, row.feed_guid),
        title=row.title,
        url=url,
        published=published,
        updated=updated,
        summary=row.summary or "",
        summary_html=row.summary_html or "",
        authors=tuple(row.authors or ()),
        categories=categories,
        image_url=row.image_url,
        event=event,
        also_listed_on=tuple(listed),
    )


def _categories(conn: Connection, ids: Sequence[int], context: FeedContext) -> dict[int, tuple[FeedCategory, ...]]:
    found: dict[int, list[FeedCategory]] = defaultdict(list)
    rows = conn.execute(
        select(labels.c.resource_id, labels.c.kind, labels.c.label_id)
        .where(labels.c.resource_id.in_(ids))
        .order_by(labels.c.resource_id, labels.c.kind.desc(), labels.c.confidence.desc(), labels.c.label_id)
    )
    for row in rows:
        name = context.label_names.get((row.kind, row.label_id))
        if name is not None:  # a label no longer in the taxonomy has no feed to point at
            found[row.resource_id].append(FeedCategory(row.kind, row.label_id, name, f"{context.feeds_url}{row.kind}/"))
    return {rid: tuple(cats) for rid, cats in found.items()}


def _listed_on(conn: Connection, ids: Sequence[int], source_names: Mapping[str, str]) -> dict[int, tuple[str, ...]]:
    """The partners listing each resource besides the first one that did (as the digest says it)."""
    names: dict[int, list[str]] = defaultdict(list)
    for row in conn.execute(
        select(entries.c.resource_id, entries.c.source_id).where(entries.c.resource_id.in_(ids)).order_by(entries.c.id)
    ):
        name = source_names.get(row.source_id)  # never a source id: an unknown source is not named
        if name and name not in names[row.resource_id]:
            names[row.resource_id].append(name)
    return {rid: tuple(found[1:]) for rid, found in names.items()}


def to_second(moment: datetime) -> datetime:
    """UTC, whole seconds: feed dates and HTTP dates carry no fractions."""
    return moment.astimezone(UTC).replace(microsecond=0)
