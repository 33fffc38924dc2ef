"""The database tables (SQLAlchemy Core); Alembic migrations in aggregator/db/migrations create them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false, true
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL stores timestamptz. SQLite has no datetime type: values are stored as UTC text in the
    layout SQLAlchemy's own SQLite DATETIME uses ("YYYY-MM-DD HH:MM:SS.ffffff", so text order is time
    order), written and read with the C-speed isoformat/fromisoformat (the store's bulk path is dominated
    by per-value processing).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: every datetime must be timezone-aware")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return value

    def process_result_value(self, value, dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Per-source state and health; the configuration itself lives in sources.yaml.
sources = Table(
    "sources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("url", Text, nullable=False, comment="current URL: updated after a permanent redirect"),
    Column("configured_url", Text, nullable=False, comment="the URL sources.yaml gave when `url` was set"),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("harvest_cursor", Text, comment="OAI-PMH `from` for the next incremental harvest"),
    Column("last_fetch_at", UTCDateTime),
    Column("last_success_at", UTCDateTime),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("last_count", Integer),
    Column("best_count", Integer, nullable=False, default=0),
    Column("drift_alarm", Boolean, nullable=False, default=False),
    Column("disabled_reason", Text),
    Column("paused_until", UTCDateTime),
    Column("pause_reason", Text, comment="why paused_until is set: the site's Retry-After, or backoff after failures"),
)

# Each origin's robots.txt as last fetched, reused until expires_at (its caching headers, a day at most).
robots_txt = Table(
    "robots_txt",
    metadata,
    Column("origin", String(300), primary_key=True, comment="scheme://host:port"),
    Column("status", Integer, nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# One row per source per run: the health history shown on the sources page.
fetch_runs = Table(
    "fetch_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(64), ForeignKey("sources.id"), nullable=False, index=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("outcome", String(16), nullable=False),  # new-data | not-modified | failed | skipped
    Column("http_status", Integer),
    Column("seen", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("error", Text),
)

# The resource editors see: one per real-world resource, whatever the number of sources listing it.
resources = Table(
    "resources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("canonical_url", Text, nullable=False),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("summary_html", Text, nullable=False, default=""),
    Column("type", String(16), nullable=False),
    Column("published_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("doi", String(255)),
    Column("authors", JSON, nullable=False, default=list),
    Column("tags", JSON, nullable=False, default=list),
    Column("image_url", Text),
    Column("event_start", UTCDateTime),
    Column("event_end", UTCDateTime),
    Column("event_timezone", String(64)),
    Column("event_location", Text),
    Column("event_online", Boolean),
    Column("registration_url", Text),
    Column("status", String(16), nullable=False, default="pending"),  # pending | approved | rejected | merged
    Column("created_at", UTCDateTime, nullable=False),
    Column("modified_at", UTCDateTime, nullable=False),
    Column("off_topic", Boolean, nullable=False, default=False, server_default=false()),
    Column("classified_at", UTCDateTime),
    Column(
        "certainty",
        Float,
        nullable=False,
        default=0.0,
        server_default="0",
        comment="how sure the labels are: the lower of the best theme's and best audience's confidence (0: none)",
    ),
    Column("merged_into_id", Integer, ForeignKey("resources.id"), comment="set while merged into another resource"),
    Column("proposed_title", Text, comment="a new source's title for a resource editors already decided on"),
    Column("featured", Boolean, nullable=False, default=False, server_default=false()),
    Column("rejection_reason", Text),
    Column(
        "deduped_at",
        UTCDateTime,
        comment="when de-duplication last compared it; NULL or older than modified_at: compare it again",
    ),
    Column("decided_by", Integer, ForeignKey("users.id")),
    Column("decided_at", UTCDateTime),
    Column(
        "feed_guid", Text, comment="the feed id readers already have (kept from before 0006); else the canonical URL"
    ),
    Index("ix_resources_status_created", "status", "created_at"),
    Index("ix_resources_status_certainty", "status", "certainty", "id"),
    Index("ix_resources_canonical_url", "canonical_url"),
    Index("ix_resources_doi", "doi"),
    Index("ix_resources_decided_at", "decided_at"),  # newest_change(): the public pages' cache stamp
    Index("ix_resources_modified_at", "modified_at"),
)

# What each source said about a resource (provenance): its own link, title, summary, tags.
entries = Table(
    "entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", String(64), ForeignKey("sources.id"), nullable=False),
    Column("key", Text, nullable=False, comment="guid:<guid> or url:<canonical url>"),
    Column("resource_id", Integer, ForeignKey("resources.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("canonical_url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("summary_html", Text, nullable=False, default=""),
    Column("type", String(16), nullable=False),
    Column("published_at", UTCDateTime),
    Column("updated_at", UTCDateTime),
    Column("doi", String(255)),
    Column("authors", JSON, nullable=False, default=list),
    Column("tags", JSON, nullable=False, default=list),
    Column("extra", JSON, nullable=False, default=dict),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_id", "key"),
)

# Audience and theme labels, with how sure and why; editors' labels are kept apart from the classifier's.
labels = Table(
    "labels",
    metadata,
    Column("resource_id", Integer, ForeignKey("resources.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # audience | theme
    Column("label_id", String(64), primary_key=True),
    Column("confidence", Float, nullable=False),
    Column("reasons", JSON, nullable=False, default=list),  # [{"signal": ..., "detail": ...}]
    Column("origin", String(16), nullable=False),  # classifier | editor
)

# Every editor correction of a label: what the next `classify retrain` learns from.
label_corrections = Table(
    "label_corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_id", Integer, ForeignKey("resources.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("label_id", String(64), nullable=False),
    Column("action", String(8), nullable=False),  # add | remove
    Column("editor", String(255)),
    Column("created_at", UTCDateTime, nullable=False),
)

# Each merge of one resource into another, with the entries it moved, so that it can be split again.
merges = Table(
    "merges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kept_id", Integer, ForeignKey("resources.id"), nullable=False, index=True),
    Column("absorbed_id", Integer, ForeignKey("resources.id"), nullable=False, index=True),
    Column("entry_ids", JSON, nullable=False),
    Column("reason", Text, nullable=False),
    Column("score", Float, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("split_at", UTCDateTime),
    Column("split_by", String(255)),
)

# Editors and admins of the web app.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("role", String(16), nullable=False),  # editor | admin
    Column("password_hash", Text, nullable=False),  # argon2
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
)

# Who did what, when: approvals, rejections, edits, merges, splits, issue approvals, source changes.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id")),  # None: the pipeline itself
    Column("action", String(32), nullable=False),
    Column("subject_type", String(16), nullable=False),  # resource | issue | source | user | subscriber
    Column("subject_id", String(64), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
)

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

# People who receive the digest; active only after confirming (double opt-in).
subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # pending | active | paused | unsubscribed | bounced
    Column("audiences", JSON, nullable=False, default=list),  # empty: everything
    Column("themes", JSON, nullable=False, default=list),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("unsubscribed_at", UTCDateTime),
    Column("bounce_count", Integer, nullable=False, default=0, server_default="0"),
    Column("origin", String(16), nullable=False),  # form | import
    Column(
        "token_version",
        Integer,
        nullable=False,
        default=1,
        server_default="1",
        comment="raised to invalidate every link sent before",
    ),
)

# The consent ledger: every opt-in, confirmation, preference change and unsubscribe, with the wording shown.
consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column(
        "action", String(24), nullable=False
    ),  # opt-in | confirm | preferences | pause | resume | unsubscribe | import
    Column("origin", String(16), nullable=False),  # form | import | link | one-click | admin
    Column("wording_version", String(32), nullable=False),
    Column("detail", JSON, nullable=False, default=dict),
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

# The web app's rate-limit counters, shared by every gunicorn worker (aggregator.db.ratelimit): one row per
# limit and key, a fixed window that ends at expires_at (seconds since the epoch).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)
