"""What the parts of a Nova session share: the state ``SonicSession`` holds, as the stream
link (``link.py``) and the reply policy (``replies.py``) see it. A protocol, so that those
parts depend on this and not on the session that wires them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import msgspec

from rtcore.kit import (
    AnswerHold,
    ConversationMirror,
    EventOutbox,
    InputAudio,
    UpstreamFailure,
    UpstreamSupervisor,
)
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.lanes import Lane
from rtcore_bedrock_sonic.options import Upstream
from rtcore_bedrock_sonic.prompt import PromptWriter
from rtcore_bedrock_sonic.stream import SonicStream
from rtcore_bedrock_sonic.translate import Inbound


class Live(msgspec.Struct, kw_only=True):
    """One Bedrock stream and the writer that numbers its content."""

    stream: SonicStream
    writer: PromptWriter
    # Monotonic time by which the stream must be replaced (its credentials expire).
    retire_at: float | None = None


class SessionContext(Protocol):
    up: Upstream
    config: n.SessionConfig
    voice: str
    inbound: Inbound
    audio: InputAudio
    mirror: ConversationMirror
    outbox: EventOutbox
    supervisor: UpstreamSupervisor[Live]
    held_results: list[n.FunctionCallOutput]
    commit_unanswered: bool
    hold: AnswerHold
    lane: Lane | None

    @property
    def tool_ids(self) -> set[str]:
        """Tool calls of the live stream: a toolUseId means nothing to another stream."""
        ...

    async def emit(self, events: Iterable[n.Event]) -> None: ...

    async def report_lost(
        self, events: list[n.Event], failure: UpstreamFailure, *, fatal: bool
    ) -> None: ...

    def frame_bytes(self) -> int: ...

    def unsent_audio_bytes(self) -> int:
        """Client audio counted in ``audio`` that no stream has taken yet."""
        ...
