"""partial index for the reminder scan: appeals awaiting an answer by (due_date, id)

Replaces ix_appeal_state_due_date, which SQLite's planner preferred (without ANALYZE
statistics) and then sorted every candidate for every batch of the scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Kept literal here: a migration must not change when the models module does.
AWAITING_ANSWER_SQL = "state IN ('registered', 'routed', 'answered')"


def upgrade() -> None:
    op.drop_index("ix_appeal_state_due_date", table_name="appeal")
    op.create_index(
        "ix_appeal_awaiting_due_id",
        "appeal",
        ["due_date", "id"],
        unique=False,
        sqlite_where=sa.text(AWAITING_ANSWER_SQL),
        postgresql_where=sa.text(AWAITING_ANSWER_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_appeal_awaiting_due_id", table_name="appeal")
    op.create_index("ix_appeal_state_due_date", "appeal", ["state", "due_date"], unique=False)
