"""LiteLLM's key fields: the team and user a key is for, its type, its rate limits; and
the per-minute counts those limits are held to.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rtcore_keys") as table:
        table.add_column(sa.Column("team_id", sa.String(256)))
        table.add_column(sa.Column("user_id", sa.String(256)))
        table.add_column(sa.Column("key_type", sa.String(16)))
        table.add_column(sa.Column("rpm_limit", sa.Integer))
        table.add_column(sa.Column("tpm_limit", sa.BigInteger))
    op.create_table(
        "rtcore_key_minutes",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("minute", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("sessions", sa.Integer, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rtcore_key_minutes")
    with op.batch_alter_table("rtcore_keys") as table:
        for name in ("tpm_limit", "rpm_limit", "key_type", "user_id", "team_id"):
            table.drop_column(name)
