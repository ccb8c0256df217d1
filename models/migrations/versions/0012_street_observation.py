"""street_observation: confirmed or corrected (street, house) -> district pairs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 01:40:00
"""

import sqlalchemy as sa
from alembic import op

import models.base

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "street_observation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("street_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("house", sa.Integer(), nullable=True),
        sa.Column("district", sa.String(length=120), nullable=False),
        sa.Column("appeal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("observed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appeal_id"],
            ["appeal.id"],
            name=op.f("fk_street_observation_appeal_id_appeal"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_street_observation")),
        sa.UniqueConstraint("appeal_id", name=op.f("uq_street_observation_appeal_id")),
    )
    op.create_index(
        op.f("ix_street_observation_street_key"), "street_observation", ["street_key"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_street_observation_street_key"), table_name="street_observation")
    op.drop_table("street_observation")
