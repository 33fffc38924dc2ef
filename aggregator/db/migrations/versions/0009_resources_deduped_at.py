"""resources.deduped_at: when de-duplication last compared a resource, so a pass compares only new and changed ones

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "deduped_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="when de-duplication last compared it; NULL or older than modified_at: compare it again",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("deduped_at")
