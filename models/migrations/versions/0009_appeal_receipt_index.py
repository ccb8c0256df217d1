"""appeal: index on (kind, receipt_date) for the register's reports and exports

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 01:10:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every report and export reads the appeals of a period by their legal receipt date;
    # without this a quarterly report reads the whole table (bench/reports.py).
    op.create_index("ix_appeal_kind_receipt_date", "appeal", ["kind", "receipt_date"])


def downgrade() -> None:
    op.drop_index("ix_appeal_kind_receipt_date", table_name="appeal")
