"""The database tables (SQLAlchemy Core), one module per part of the pipeline, all on one MetaData; Alembic
migrations in aggregator/db/migrations create them."""

from aggregator.db.schema.base import UTCDateTime, metadata
from aggregator.db.schema.content import (
    entries,
    fetch_runs,
    label_corrections,
    labels,
    merges,
    resources,
    robots_txt,
    sources,
)
from aggregator.db.schema.digest import deliveries, issue_items, issues
from aggregator.db.schema.people import audit_log, consent_events, rate_limits, subscribers, users

__all__ = [
    "UTCDateTime",
    "metadata",
    "sources",
    "robots_txt",
    "fetch_runs",
    "resources",
    "entries",
    "labels",
    "label_corrections",
    "merges",
    "users",
    "audit_log",
    "issues",
    "issue_items",
    "subscribers",
    "consent_events",
    "deliveries",
    "rate_limits",
]
