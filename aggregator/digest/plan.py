"""A dry run of sending: who would get which copy, every distinct copy rendered once, nothing sent or recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import subscribers
from aggregator.digest.issue import load_issue
from aggregator.digest.render import Recipient, render_digest
from aggregator.settings import Settings

PAGE = 1000


@dataclass(frozen=True, slots=True)
class SendPlan:
    issue_id: int
    month: str
    recipients: int
    copies: tuple[tuple[tuple[str, ...], tuple[str, ...], int, int], ...]  # audiences, themes, people, resources


def iter_active(conn: Connection, page: int = PAGE) -> Iterator[Recipient]:
    """Active subscribers in id order, read a page at a time (keyset pagination: memory does not grow)."""
    after = 0
    while True:
        rows = conn.execute(
            select(
                subscribers.c.id,
                subscribers.c.email,
                subscribers.c.audiences,
                subscribers.c.themes,
                subscribers.c.token_version,
            )
            .where(subscribers.c.status == "active", subscribers.c.id > after)
            .order_by(subscribers.c.id)
            .limit(page)
        ).all()
        if not rows:
            return
        for row in rows:
            yield Recipient(row.id, row.email, tuple(row.audiences or ()), tuple(row.themes or ()), row.token_version)
        after = rows[-1].id


@dataclass(frozen=True, slots=True)
class RecipientCount:
    """Who an approval will mail: the active subscribers, and how many chose each set of preferences."""

    total: int
    by_preferences: tuple[tuple[tuple[str, ...], tuple[str, ...], int], ...]  # audiences, themes, people; most first


def count_recipients(conn: Connection) -> RecipientCount:
    """The active subscribers by their (audiences, themes) choice (none chosen: everything)."""
    people: Counter = Counter()
    for recipient in iter_active(conn):
        people[(tuple(sorted(set(recipient.audiences))), tuple(sorted(set(recipient.themes))))] += 1
    ordered = sorted(people.items(), key=lambda kv: (-kv[1], kv[0]))
    return RecipientCount(sum(people.values()), tuple((a, t, n) for (a, t), n in ordered))


def plan_send(
    conn: Connection,
    issue_id: int,
    settings: Settings,
    taxonomy: Taxonomy,
    now: datetime,
    source_names: Mapping[str, str] | None = None,
) -> SendPlan:
    content = load_issue(conn, issue_id, now, source_names)
    counted = count_recipients(conn)
    copies = []
    for audiences, themes, count in counted.by_preferences:
        rendered = render_digest(
            content, recipient=Recipient(0, "", audiences, themes), settings=settings, taxonomy=taxonomy
        )
        copies.append((audiences, themes, count, rendered.html.count('class="item-title"')))
    return SendPlan(issue_id, content.month, counted.total, tuple(copies))
