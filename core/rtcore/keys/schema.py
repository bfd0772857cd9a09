"""The tables (SQLAlchemy Core): keys, session leases, spend logs, client secrets, deployment
cooldowns, keys' per-minute counts. Migrations in ``migrations/`` create them; this is what
the code reads and writes."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

keys = sa.Table(
    "rtcore_keys",
    metadata,
    # SHA-256 of the key: the key itself is shown once, at generation, and never stored.
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("key_name", sa.String(32), nullable=False),  # "sk-...abcd", for humans
    sa.Column("key_alias", sa.String(256), unique=True),
    sa.Column("models", sa.JSON, nullable=False),
    sa.Column("max_parallel_requests", sa.Integer),
    sa.Column("max_budget", sa.Float),
    sa.Column("budget_duration", sa.String(16)),
    sa.Column("budget_reset_at", sa.DateTime(timezone=True)),
    sa.Column("spend", sa.Float, nullable=False, default=0.0),
    sa.Column("expires", sa.DateTime(timezone=True)),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("blocked", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # LiteLLM's: labels here (rtcore has no teams or users), shown and filtered on.
    sa.Column("team_id", sa.String(256)),
    sa.Column("user_id", sa.String(256)),
    sa.Column("key_type", sa.String(16)),  # None: "default"
    sa.Column("rpm_limit", sa.Integer),  # sessions opened per minute
    sa.Column("tpm_limit", sa.BigInteger),  # tokens per minute
)

# A live session of a key, held by one replica and renewed while it lives: a replica that
# dies stops renewing, and its leases stop counting once they expire.
leases = sa.Table(
    "rtcore_leases",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("token", sa.String(64), nullable=False, index=True),
    sa.Column("replica", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

spend_logs = sa.Table(
    "rtcore_spend_logs",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("api_key", sa.String(64), nullable=False, index=True),  # the key's hash
    sa.Column("key_alias", sa.String(256)),
    sa.Column("model", sa.String(256), nullable=False),  # the provider's model id
    sa.Column("model_group", sa.String(256), nullable=False),  # the configured model name
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

# An ephemeral client secret: what a browser holds instead of a key, for one session,
# until it expires. ``token`` is the minting virtual key's (None: the master key).
client_secrets = sa.Table(
    "rtcore_client_secrets",
    metadata,
    sa.Column("secret", sa.String(64), primary_key=True),  # its SHA-256
    sa.Column("token", sa.String(64)),
    sa.Column("session", sa.JSON, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("used_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# A deployment that failed, passed over by every process sharing the database until
# ``until``; ``replica`` is the process that saw it fail (the latest, when several did).
cooldowns = sa.Table(
    "rtcore_cooldowns",
    metadata,
    sa.Column("deployment", sa.String(256), primary_key=True),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    sa.Column("replica", sa.String(64), nullable=False),
)

# What a key used in one minute (``minute``: its start, UTC): the sessions it opened and
# the tokens its sessions used, counted against its ``rpm_limit`` and ``tpm_limit`` by
# every process sharing the database. Rows of past minutes are swept as keys are admitted.
key_minutes = sa.Table(
    "rtcore_key_minutes",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("minute", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("sessions", sa.Integer, nullable=False),
    sa.Column("tokens", sa.BigInteger, nullable=False),
)
