"""issues.paused_at: an editor paused the issue's send in the web app; no sender takes it up until resumed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 16:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "paused_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="set while an editor has paused the send: senders stop and none starts",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("issues", schema=None) as batch_op:
        batch_op.drop_column("paused_at")
