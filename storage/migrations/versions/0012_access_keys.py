"""Idle access keys are findings too (issue 23): a key finding names its key by when it was made
(the credential report's access_key_N_last_rotated) and, once the bot has acted, by its id; a
finding records the keys a request for it covers and the keys the bot deactivated, which
Reactivate turns back on. One open finding
per user's password and one per key.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

OPEN = "closed_at IS NULL"
PASSWORD = "key_created IS NULL"
KEY = "key_created IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("findings") as table:
        table.add_column(sa.Column("key_created", sa.DateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("key_id", sa.String(length=128), nullable=True))
        table.add_column(sa.Column("deactivated_keys", sa.JSON(), nullable=True))
        table.add_column(sa.Column("requested_keys", sa.JSON(), nullable=True))
    op.drop_index("uq_findings_open_user", table_name="findings")
    op.create_index(
        "uq_findings_open_user",
        "findings",
        ["account_id", "user_name"],
        unique=True,
        sqlite_where=sa.text(f"{OPEN} AND {PASSWORD}"),
        postgresql_where=sa.text(f"{OPEN} AND {PASSWORD}"),
    )
    op.create_index(
        "uq_findings_open_key",
        "findings",
        ["account_id", "user_name", "key_created"],
        unique=True,
        sqlite_where=sa.text(f"{OPEN} AND {KEY}"),
        postgresql_where=sa.text(f"{OPEN} AND {KEY}"),
    )


def downgrade() -> None:
    op.drop_index("uq_findings_open_key", table_name="findings")
    op.drop_index("uq_findings_open_user", table_name="findings")
    key_findings = f"SELECT id FROM findings WHERE {KEY}"
    op.execute(sa.text(f"DELETE FROM audit_events WHERE finding_id IN ({key_findings})"))
    op.execute(sa.text(f"DELETE FROM findings WHERE {KEY}"))
    op.create_index(
        "uq_findings_open_user",
        "findings",
        ["account_id", "user_name"],
        unique=True,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    with op.batch_alter_table("findings") as table:
        table.drop_column("requested_keys")
        table.drop_column("deactivated_keys")
        table.drop_column("key_id")
        table.drop_column("key_created")
