"""resources.relevance: why the classifier judged a resource about health and care, or not

The deciding signal's words (a partner tag naming a theme, the relevance model's probability, no theme's
signals reaching its threshold), kept by aggregator.classify.label with the labels, so an editor sees why a
page is marked "probably off-topic". NULL until the resource is next labelled.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "relevance",
                sa.Text(),
                comment="why the classifier judged it about health and care or not (the deciding signal)",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("relevance")
