"""resources.type_stated: whether the resource's type was stated by its page or platform

True when the type came from what the page or platform says it is (schema.org @type, og:type,
citation_*, a GOV.UK document type, an event's date, the source's type hint, a media enclosure, a DOI);
false when normalising could only guess it from the text, in which case aggregator.classify.label replaces it
with the classifier's type (the learned type model), as `aggregator classify eval` measures it. Rows stored
before this column keep their types (true).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 00:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "type_stated",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
                comment="the type was stated by the page or platform (false: guessed, the classifier decides)",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("type_stated")
