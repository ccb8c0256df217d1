"""outbound_message.lease_owner: the claim token a sender must still hold to hand off

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("outbound_message") as batch:
        batch.drop_column("lease_owner")
