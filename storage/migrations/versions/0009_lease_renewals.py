"""Leases say when their holder last renewed them: a holder that stopped renewing (its process
killed) shows long before its lease lapses, so nobody is told a scan runs that is gone.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: a lease taken before has none (it is read as renewed when it was taken).
    op.add_column("leases", sa.Column("renewed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("leases", "renewed_at")
