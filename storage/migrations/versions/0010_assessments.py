"""Assessments: every user's verdict at every scan, kept as intervals (a scan that judges as the
last one did writes nothing), for the population export (issue 24).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=12), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.Text(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    # One verdict holds per user at a time; the scan reads an account's by this index.
    op.create_index(
        "uq_assessments_current",
        "assessments",
        ["account_id", "user_name"],
        unique=True,
        sqlite_where=sa.text("until IS NULL"),
        postgresql_where=sa.text("until IS NULL"),
    )
    op.create_index("ix_assessments_account_since", "assessments", ["account_id", "since"])


def downgrade() -> None:
    op.drop_index("ix_assessments_account_since", table_name="assessments")
    op.drop_index("uq_assessments_current", table_name="assessments")
    op.drop_table("assessments")
