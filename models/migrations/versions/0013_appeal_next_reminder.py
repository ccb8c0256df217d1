"""appeal.next_reminder_at: when the reminder scan next needs to look at an appeal

A tick reads only `next_reminder_at <= now` among the appeals awaiting an answer, through
a partial index, instead of walking every open appeal near or past its due date.

Backfill: an appeal awaiting an answer gets its own `received_at`, a time that is surely
not later than its next step under any reminder plan. The first tick after the upgrade
therefore looks at every open appeal once (as every tick did before) and stores the exact
next time; from then on a tick reads only what is due.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

AWAITING_ANSWER_SQL = "state IN ('registered', 'routed', 'answered')"


def upgrade() -> None:
    with op.batch_alter_table("appeal") as batch:
        batch.add_column(sa.Column("next_reminder_at", sa.DateTime(timezone=True)))
    op.execute(f"UPDATE appeal SET next_reminder_at = received_at WHERE {AWAITING_ANSWER_SQL}")
    op.create_index(
        "ix_appeal_awaiting_next_reminder",
        "appeal",
        ["next_reminder_at", "id"],
        sqlite_where=sa.text(AWAITING_ANSWER_SQL),
        postgresql_where=sa.text(AWAITING_ANSWER_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_appeal_awaiting_next_reminder", table_name="appeal")
    with op.batch_alter_table("appeal") as batch:
        batch.drop_column("next_reminder_at")
