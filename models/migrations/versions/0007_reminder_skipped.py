"""reminder_sent: `skipped` marks a step recorded without a message

A step whose time had passed when the scan came to it (a reminder before the due date,
after it; a step superseded by a later one of its kind) is recorded as skipped, so that no
later tick sends it late.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_sent") as batch:
        batch.add_column(
            sa.Column("skipped", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder_sent") as batch:
        batch.drop_column("skipped")
