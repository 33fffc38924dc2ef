"""ix_resources_decided_at, ix_resources_modified_at: the newest decision and change (the public pages' cache
stamp) read from indexes

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 16:05:00
"""

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_resources_decided_at", "resources", ["decided_at"])
    op.create_index("ix_resources_modified_at", "resources", ["modified_at"])


def downgrade() -> None:
    op.drop_index("ix_resources_modified_at", table_name="resources")
    op.drop_index("ix_resources_decided_at", table_name="resources")
