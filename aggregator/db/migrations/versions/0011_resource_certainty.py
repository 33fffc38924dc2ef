"""resources.certainty: how sure the labels are, so the review queue can show the least sure first

The lower of the best theme label's and the best audience label's confidence (an editor's label counts
1.0, a kind with no label 0), kept by aggregator.classify.label whenever labels change, and indexed with
the status so the "least sure first" queue is a keyset walk like the newest-first one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 15:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "certainty",
                sa.Float(),
                nullable=False,
                server_default="0",
                comment=(
                    "how sure the labels are: the lower of the best theme's and best audience's confidence (0: none)"
                ),
            )
        )
        batch_op.create_index("ix_resources_status_certainty", ["status", "certainty", "id"], unique=False)
    resources = sa.table("resources", sa.column("id"), sa.column("certainty"))
    labels = sa.table("labels", sa.column("resource_id"), sa.column("kind"), sa.column("confidence"))

    def best(kind: str):
        return sa.func.coalesce(
            sa.select(sa.func.max(labels.c.confidence))
            .where(labels.c.resource_id == resources.c.id, labels.c.kind == kind)
            .scalar_subquery(),
            0.0,
        )

    theme, audience = best("theme"), best("audience")
    op.get_bind().execute(resources.update().values(certainty=sa.case((theme < audience, theme), else_=audience)))


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resources_status_certainty")
        batch_op.drop_column("certainty")
