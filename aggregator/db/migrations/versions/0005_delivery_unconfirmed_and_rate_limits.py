"""deliveries.unconfirmed (a message sent with no reply seen is parked after a few), rate_limits table

deliveries.unconfirmed counts the times a delivery's message went out without the server's reply
reaching the sender (it died while sending, or the connection was lost after the body); the sending
engine parks the delivery at settings.smtp.park_after. rate_limits holds the web app's rate-limit
counters so that every gunicorn worker shares them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unconfirmed", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "rate_limits",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("rate_limits")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("unconfirmed")
