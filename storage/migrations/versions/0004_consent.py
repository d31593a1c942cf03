"""Consent: the IAM UserId a finding is about, what a removal request was made for (the owner
it asked and whether it was a dry run), and when the finding last changed state (so that one
left in a transient state is found and moved on).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("requested_owner", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("requested_dry_run", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("owner_unreachable", sa.Boolean(), nullable=True))
        batch_op.add_column(
            sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("state_changed_at")
        batch_op.drop_column("owner_unreachable")
        batch_op.drop_column("requested_dry_run")
        batch_op.drop_column("requested_owner")
        batch_op.drop_column("user_id")
