"""keep the feed ids readers already have: resources.feed_guid and issues.feed_guid

Before this revision a resource's feed id was tag:<host of AGGREGATOR_BASE_URL>,2026:resource/<id> (and an
issue's tag:<host>,2026:issue/<month>): computed, never stored, so moving the site or rebuilding the
database changed every id and readers showed every item again. From now on an id is derived from the
resource's own canonical URL (and the list's List-Id for issues); the ids already published are stored
here, computed with the base URL this upgrade runs under, so readers see no item twice.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 12:30:00
"""

import os
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "feed_guid",
                sa.Text(),
                nullable=True,
                comment=("the feed id readers already have (kept from before 0006); else the canonical URL"),
            )
        )
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "feed_guid",
                sa.Text(),
                nullable=True,
                comment=("the archive feed id readers already have (kept from before 0006)"),
            )
        )
    host = (urlsplit(_base_url()).hostname or "kindness-digest.invalid").lower()
    prefix = f"tag:{host},2026:"
    bind = op.get_bind()
    # only what was published: approved resources were in the feeds, sent issues in the archive's feed
    bind.execute(
        sa.text(
            "UPDATE resources SET feed_guid = :prefix || 'resource/' || CAST(id AS TEXT) WHERE status = 'approved'"
        ),
        {"prefix": prefix},
    )
    bind.execute(
        sa.text("UPDATE issues SET feed_guid = :prefix || 'issue/' || month WHERE status = 'sent'"), {"prefix": prefix}
    )


def _base_url() -> str:
    """The base URL the site runs under (environment or .env, as the app reads it)."""
    try:
        from aggregator.settings import Settings

        return Settings().base_url
    except Exception:  # settings that do not validate: the environment variable, else the default
        return os.environ.get("AGGREGATOR_BASE_URL", "http://127.0.0.1:8000")


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_column("feed_guid")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("feed_guid")
