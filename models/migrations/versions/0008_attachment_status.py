"""attachment: original name, whether forwarded and why not, where it came from

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("original_name", sa.String(512), nullable=True))
        # Rows written before: every file was forwarded.
        batch.add_column(
            sa.Column("status", sa.String(20), nullable=False, server_default="sent")
        )
        batch.add_column(sa.Column("reason", sa.String(40), nullable=True))
        batch.add_column(sa.Column("inside", sa.String(512), nullable=True))
        batch.add_column(sa.Column("unpacked_from", sa.String(512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        for name in ("unpacked_from", "inside", "reason", "status", "original_name"):
            batch.drop_column(name)
