"""What every session of one model shares: the SDK client, the model's profile, options."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from rtcore.kit import SessionTunables
from rtcore_bedrock_sonic.lanes import LanePool
from rtcore_bedrock_sonic.models import ModelProfile

if TYPE_CHECKING:
    # Only for type checkers: the SDK takes ~0.7 s to import, so it loads when the first
    # client is built (or in the background once serving), never while the port opens.
    from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient


class SessionOptions(SessionTunables, frozen=True, kw_only=True):
    """Tunables, from the model's params (see docs/providers/bedrock-sonic.md); the
    supervisor's are the kit's."""

    # Nova ends a stream after ~8 minutes; rotate well before, at a turn boundary.
    rotate_after_seconds: float = 360.0
    connection_limit_seconds: float = 480.0
    # How long a finished response waits for its usage event before response.done.
    usage_grace_seconds: float = 0.25
    audio_frame_ms: int = 64
    # Client audio is sent in events of up to this much audio, none held longer (0: one
    # event per client chunk). Each SDK event costs ~0.5-0.8 ms of CPU; see coalesce.py.
    audio_coalesce_ms: int = 60
    # The shortest pause after speech on which Nova may end the user's turn, where known
    # (it depends on the model and its endpointing sensitivity): quiet shorter than it, less
    # one batch, may still wait in a batch; 0 sends all quiet after speech at once until
    # Nova takes the turn (never delays a reply, costs more events).
    end_of_turn_pause_ms: int = 0
    text_trigger_wav: str | None = None


class Upstream(msgspec.Struct, kw_only=True):
    client: AsyncBedrockRuntimeClient
    model_id: str
    profile: ModelProfile
    options: SessionOptions
    region: str | None = None
    # The configured model is retired and served as written: a stream Bedrock ends without
    # a word is that retirement, not a dropped connection.
    retired: ModelProfile | None = None
    # The credentials resolver (credentials.Refreshing): when those in use expire.
    credentials: Any = None
    # A connection per session (lanes.py); without it, sessions share the client's.
    lanes: LanePool | None = None
