"""Findings looked up by account and user whatever their state: a scan reads each account's last
closed findings of the users it found (the open-finding indexes are partial, so that read
walked the whole table once per account: about 1 s of a 200-account scan).

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_findings_account_user", "findings", ["account_id", "user_name"])


def downgrade() -> None:
    op.drop_index("ix_findings_account_user", table_name="findings")
