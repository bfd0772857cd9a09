"""Deployment cooldowns shared by every process of a database.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rtcore_cooldowns",
        sa.Column("deployment", sa.String(256), primary_key=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replica", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rtcore_cooldowns")
