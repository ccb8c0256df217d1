"""inbound_message, outbound_message: when the admin's digest last listed the row

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 01:00:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for rows written before: held and failed mail of the past goes into the first
    # digest, which is what an admin who has just upgraded wants to see.
    for table in ("inbound_message", "outbound_message"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("alerted_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("inbound_message", "outbound_message"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("alerted_at")
