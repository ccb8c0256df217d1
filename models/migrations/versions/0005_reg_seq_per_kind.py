"""appeal: registration sequence unique per (year, kind), not per year

Each kind (appeal, public-information request) has its own series and counter, so the
first request of a year and the first appeal of that year both get sequence 1.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 18:40:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appeal") as batch:
        batch.drop_constraint("uq_appeal_reg_year_reg_seq", type_="unique")
        batch.create_unique_constraint(
            "uq_appeal_reg_year_kind_reg_seq", ["reg_year", "kind", "reg_seq"]
        )


def downgrade() -> None:
    with op.batch_alter_table("appeal") as batch:
        batch.drop_constraint("uq_appeal_reg_year_kind_reg_seq", type_="unique")
        batch.create_unique_constraint("uq_appeal_reg_year_reg_seq", ["reg_year", "reg_seq"])
