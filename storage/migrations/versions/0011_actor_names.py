"""Each audit event keeps the name its person had in Slack when they acted, beside their id: a
record still reads right once the Slack account is gone.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: the bot's own steps, and events recorded before, have none.
    op.add_column("audit_events", sa.Column("actor_name", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_events", "actor_name")
