"""The monthly issues, their items in the editors' order, and one delivery row per (issue, subscriber)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from aggregator.db.schema.base import UTCDateTime, metadata

# A month's digest ("issue"): draft -> approved -> sending -> sent.
issues = Table(
    "issues",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("month", String(7), nullable=False, unique=True),  # YYYY-MM
    Column("status", String(16), nullable=False, default="draft"),
    Column("intro", Text, nullable=False, default=""),  # written by editors (Markdown: aggregator.text.markdown)
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("approved_at", UTCDateTime),
    Column("approved_by", Integer, ForeignKey("users.id")),
    Column("send_at", UTCDateTime, comment="when the approved issue may go out"),
    Column("sent_at", UTCDateTime),
    Column("paused_at", UTCDateTime, comment="set while an editor has paused the send: senders stop and none starts"),
    Column("feed_guid", Text, comment="the archive feed id readers already have (kept from before 0006)"),
)

# The resources of an issue, in the editors' order, grouped into sections (a theme id, or "events").
issue_items = Table(
    "issue_items",
    metadata,
    Column("issue_id", Integer, ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    Column("resource_id", Integer, ForeignKey("resources.id"), primary_key=True),
    Column("section", String(64), nullable=False),
    Column("position", Integer, nullable=False),
)

# One row per (issue, subscriber): sent only after the server's 250; a lease stops two workers sending it.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("issue_id", Integer, ForeignKey("issues.id"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    Column(
        "status", String(16), nullable=False, default="pending"
    ),  # pending | sent | failed | bounced | skipped | parked
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("message_id", String(255)),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    # times its message went out with no reply seen: the sender died while sending it, or the connection
    # was lost after its body; parked at settings.smtp.park_after
    Column("unconfirmed", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("issue_id", "subscriber_id"),
    Index("ix_deliveries_issue_status", "issue_id", "status"),
)
