"""Slack decisions: who asked and decided, and where each finding is shown.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = (
    ("requested_by", sa.String(length=32)),
    ("decided_by", sa.String(length=32)),
    ("decision_note", sa.Text()),
    ("owner_slack_id", sa.String(length=32)),
    ("slack_channel", sa.String(length=32)),
    ("slack_ts", sa.String(length=32)),
    ("dm_channel", sa.String(length=32)),
    ("dm_ts", sa.String(length=32)),
)


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.create_index("ix_findings_slack_message", ["slack_channel", "slack_ts"])


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_slack_message")
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
