"""appeal: the Classifier's characteristics, the result of consideration, their sources

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 20:05:00
"""

import sqlalchemy as sa
from alembic import op

from models.base import JSONType, UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("receipt_form", 20),
    ("appeal_sign", 20),
    ("appeal_type", 20),
    ("subject_kind", 20),
    ("topic_code", 40),
    ("result", 20),
)


def upgrade() -> None:
    with op.batch_alter_table("appeal") as batch:
        for name, length in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
        batch.add_column(sa.Column("result_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("characteristic_sources", JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appeal") as batch:
        batch.drop_column("characteristic_sources")
        batch.drop_column("result_at")
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
