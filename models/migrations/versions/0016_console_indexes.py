"""appeal: indexes for the web console's dashboard (counts by state, department and dates)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Covering indexes: the dashboard's counts read them and never the appeal rows, whose
    # texts make a table scan slow (bench/console.py: 1.1 s at 100,000 appeals without).
    # The appeals awaiting an answer by due date and department: the open, due-this-week,
    # overdue and triage counts in one pass over a partial index (the state list repeats
    # models.tables.AWAITING_ANSWER_SQL: SQLite uses a partial index only then).
    awaiting = sa.text("state IN ('registered', 'routed', 'answered')")
    op.create_index(
        "ix_appeal_awaiting_due_department",
        "appeal",
        ["due_date", "department_id"],
        sqlite_where=awaiting,
        postgresql_where=awaiting,
    )
    op.create_index("ix_appeal_state_department", "appeal", ["state", "department_id"])
    op.create_index("ix_appeal_state_closed_due", "appeal", ["state", "closed_at", "due_date"])
    op.create_index("ix_appeal_received_at", "appeal", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_appeal_received_at", table_name="appeal")
    op.drop_index("ix_appeal_state_closed_due", table_name="appeal")
    op.drop_index("ix_appeal_state_department", table_name="appeal")
    op.drop_index("ix_appeal_awaiting_due_department", table_name="appeal")
