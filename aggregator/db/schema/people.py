"""People: editors and their audit trail, subscribers and their consent ledger, the web app's rate limits."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.sql.expression import true

from aggregator.db.schema.base import UTCDateTime, metadata

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

# The web app's rate-limit counters, shared by every gunicorn worker (aggregator.db.ratelimit): one row per
# limit and key, a fixed window that ends at expires_at (seconds since the epoch).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("hits", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)
