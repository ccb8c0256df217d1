"""appeal, attachment: when their personal data was erased (retention, a citizen's request)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 12:00:00
"""

import sqlalchemy as sa

import models.base
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appeal") as batch:
        batch.add_column(sa.Column("erased_at", models.base.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("erased_at", models.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    for table in ("attachment", "appeal"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("erased_at")
