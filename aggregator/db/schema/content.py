"""What is fetched and made of it: sources and their fetches, resources, entries, labels, merges."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false, true

from aggregator.db.schema.base import UTCDateTime, metadata

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
    Column(
        "relevance", Text, comment="why the classifier judged it about health and care or not (the deciding signal)"
    ),
    Column(
        "type_stated",
        Boolean,
        nullable=False,
        default=True,
        server_default=true(),
        comment="the type was stated by the page or platform (false: guessed, the classifier decides)",
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
