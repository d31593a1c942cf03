"""Risk context on findings: whether the user is privileged (and why) and whether MFA is on,
so findings can be ranked.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("privileged", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("privilege", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("mfa_active", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("mfa_active")
        batch_op.drop_column("privilege")
        batch_op.drop_column("privileged")
