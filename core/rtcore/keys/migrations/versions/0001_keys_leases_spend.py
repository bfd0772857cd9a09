"""Virtual keys, session leases and spend logs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rtcore_keys",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("key_name", sa.String(32), nullable=False),
        sa.Column("key_alias", sa.String(256), unique=True),
        sa.Column("models", sa.JSON, nullable=False),
        sa.Column("max_parallel_requests", sa.Integer),
        sa.Column("max_budget", sa.Float),
        sa.Column("budget_duration", sa.String(16)),
        sa.Column("budget_reset_at", sa.DateTime(timezone=True)),
        sa.Column("spend", sa.Float, nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True)),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("blocked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rtcore_leases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, index=True),
        sa.Column("replica", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "rtcore_spend_logs",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("api_key", sa.String(64), nullable=False, index=True),
        sa.Column("key_alias", sa.String(256)),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("model_group", sa.String(256), nullable=False),
        sa.Column("deployment", sa.String(256), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_reason", sa.String(64), nullable=False),
        sa.Column("audio_seconds_in", sa.Float, nullable=False),
        sa.Column("audio_seconds_out", sa.Float, nullable=False),
        sa.Column("input_text_tokens", sa.Integer, nullable=False),
        sa.Column("input_audio_tokens", sa.Integer, nullable=False),
        sa.Column("output_text_tokens", sa.Integer, nullable=False),
        sa.Column("output_audio_tokens", sa.Integer, nullable=False),
        sa.Column("spend", sa.Float, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rtcore_spend_logs")
    op.drop_table("rtcore_leases")
    op.drop_table("rtcore_keys")
