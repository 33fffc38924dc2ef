"""The digest as one reader would get it, for the composition screen, rendered by the delivery stage's renderer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from aggregator.config.taxonomy import Taxonomy
from aggregator.db.schema import subscribers
from aggregator.digest.issue import IssueContent
from aggregator.digest.links import Links, preview_links
from aggregator.digest.render import Recipient, RenderedMail, render_digest
from aggregator.people.tokens import Tokens
from aggregator.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reader:
    """Whose copy to preview: a subscriber's stored choices, or choices picked on the screen."""

    audiences: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    email: str | None = None  # a real subscriber, when one was chosen
    subscriber_id: int | None = None

    def description(self, taxonomy: Taxonomy) -> str:
        names = {(d.kind, d.id): d.name for kind in ("audience", "theme") for d in taxonomy.labels(kind)}
        chosen = [names.get(("audience", a), a) for a in self.audiences]
        chosen += [names.get(("theme", t), t) for t in self.themes]
        who = (
            ("someone who chose " + ", ".join(chosen))
            if chosen
            else "someone who chose nothing in particular (they get everything)"
        )
        return f"{self.email}, {who}" if self.email else who


def find_reader(conn: Connection, email: str) -> Reader | None:
    row = conn.execute(
        select(subscribers.c.id, subscribers.c.email, subscribers.c.audiences, subscribers.c.themes).where(
            subscribers.c.email == email.strip().lower()
        )
    ).one_or_none()
    if row is None:
        return None
    return Reader(tuple(row.audiences or ()), tuple(row.themes or ()), row.email, row.id)


def find_recipient(conn: Connection, email: str) -> Recipient | None:
    """The subscriber with this address as a recipient of their own copy, or None."""
    row = conn.execute(select(subscribers).where(subscribers.c.email == email)).one_or_none()
    if row is None:
        return None
    return Recipient(row.id, row.email, tuple(row.audiences or ()), tuple(row.themes or ()), row.token_version)


def render_preview(content: IssueContent, reader: Reader, *, settings: Settings, taxonomy: Taxonomy) -> RenderedMail:
    """Subject, HTML and text of `reader`'s copy. Its unsubscribe and preference links are the harmless
    preview links a test send uses, never a real subscriber's signed ones."""
    personal, archive_url = preview_links(Links(settings.base_url), Tokens(settings.secret()), content.id)
    recipient = Recipient(reader.subscriber_id or 0, reader.email or "preview@invalid", reader.audiences, reader.themes)
    return render_digest(
        content, recipient=recipient, settings=settings, taxonomy=taxonomy, personal=personal, archive_url=archive_url
    )


def send_test_copy(
    content: IssueContent, address: str, *, settings: Settings, taxonomy: Taxonomy, now: datetime
) -> None:
    """The whole issue to `address` with a [TEST] subject, through the configured Mailer (SMTP or outbox)."""
    from aggregator.digest.mail.factory import make_mailer
    from aggregator.digest.single import send_test

    send_test(content, address, make_mailer(settings, content.month), settings, taxonomy=taxonomy, now=now)
    logger.info("test copy sent", extra={"issue_id": content.id})
