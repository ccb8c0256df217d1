"""inbound_message.raw_pending: the received bytes until they are in the raw store

Intake commits the bytes with the row (one WAL flush for a whole batch); the worker then
writes the content-addressed file and clears the column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 02:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("inbound_message", sa.Column("raw_pending", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Bytes still only in the database must reach the raw store before this runs
    # (`appeals work` until no message is in state received); the column is then empty.
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.drop_column("raw_pending")
