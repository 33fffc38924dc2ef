"""drop ix_entries_source_canonical: no query reads entries by canonical URL

The store matches a source's entries by key and canonical URL in memory, after reading them all by
source_id (which the unique (source_id, key) index serves). The index only cost a write on every new
entry: 3-6% of the ingest benchmark's store time, measured in turn with and without it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:45:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_source_canonical")


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index("ix_entries_source_canonical", ["source_id", "canonical_url"], unique=False)
