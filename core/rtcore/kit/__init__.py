"""The provider kit: what every provider session needs, so that a provider is wiring plus
its model's own policy.

- ``EventOutbox``: the session's outgoing events, with end and error semantics.
- ``ResponseLedger``: responses by id, exactly one ``ResponseDone`` for each.
- ``ResponseTurns``: responses for a model with none of its own, whose output comes in
  turns one at a time (its own answers announced, requests waiting for the turn's end).
- ``SpokenTurn``: the user's spoken turn for an upstream that reports it late or not at
  all (speech started and stopped, the item, its transcript held until the item is seen).
- ``ConversationMirror``: the core's conversation as the provider was told of it.
- ``UpstreamSupervisor``: one live upstream stream kept alive (open with backoff, rotate at
  a turn boundary, recover with replay, a backlog meanwhile), driven through an
  ``UpstreamAdapter``; ``UpstreamState`` is its state.
  ``Expires`` is the adapter whose streams must be replaced by a time known at open;
  ``going_away`` on the supervisor takes an end the upstream announces.
- ``AudioCoalescer`` (with ``flush_when_due``), ``InputAudio`` (the replay ring),
  ``Backlog``: their parts; ``frames`` and ``silence`` for PCM16 writers.
- ``AnswerHold``: a model's own answer kept back until the client's ``response.create``
  claims it (push-to-talk, ``create_response: false`` on a model that always answers).
- ``SupervisedSession``: the shell of a session on one supervised upstream (events, send,
  connected, a bounded close, the last events, ``emit`` through its hold, ``report_lost``);
  a provider's session implements ``on_command``.
- ``ReadinessCheck``: the provider's readiness from the check its sessions need
  (credentials, a client), rechecked in the background while it fails.
- ``TextTurn``, ``as_text``, ``text_turns``, ``owed``, ``answered_and_owed``: the
  conversation as text turns, for an upstream that can take earlier turns only as text,
  and the part of it a reply still owes.
- ``OutOfBandReply``: a reply outside the live context (``conversation: "none"``) that the
  provider runs on a short-lived connection of its own: one ``ResponseDone`` whatever
  happens, only the events a client should see forwarded (``Forward``), cancel, failures;
  ``OutOfBandReplies``: a session's replies in flight, cancelled by id or all at its close.
- ``new_item_id`` / ``new_response_id``: ids for what a provider starts itself.
- ``SessionTunables`` (the supervisor's tunables as model options, with ``policy``),
  ``read_options``, ``text_param``, ``env_value``, ``unknown_param_warnings`` and
  ``LITELLM_ONLY``: a model's ``litellm_params`` read, bad values named, unknown keys warned.
"""

from rtcore.kit.audio.coalescer import AudioCoalescer, flush_when_due
from rtcore.kit.audio.input_audio import InputAudio
from rtcore.kit.audio.pcm import frames, silence
from rtcore.kit.ids import new_item_id, new_response_id
from rtcore.kit.model.params import (
    LITELLM_ONLY,
    SessionTunables,
    env_value,
    read_options,
    text_param,
    unknown_param_warnings,
)
from rtcore.kit.model.readiness import ReadinessCheck
from rtcore.kit.outbox import EventOutbox
from rtcore.kit.shell import SupervisedSession
from rtcore.kit.turns.hold import AnswerHold
from rtcore.kit.turns.ledger import LedgerResponse, ResponseLedger
from rtcore.kit.turns.mirror import ConversationMirror, MirroredItem
from rtcore.kit.turns.out_of_band import Forward, OutOfBandReplies, OutOfBandReply
from rtcore.kit.turns.response_turns import ResponseTurns
from rtcore.kit.turns.spoken_turn import SpokenTurn
from rtcore.kit.turns.text_history import TextTurn, answered_and_owed, as_text, owed, text_turns
from rtcore.kit.upstream.adapter import (
    THROTTLED,
    Expires,
    SupervisorPolicy,
    UpstreamAdapter,
    UpstreamFailure,
)
from rtcore.kit.upstream.backlog import Backlog, Builder
from rtcore.kit.upstream.supervisor import UpstreamState, UpstreamSupervisor

__all__ = [
    "LITELLM_ONLY",
    "THROTTLED",
    "AnswerHold",
    "AudioCoalescer",
    "Backlog",
    "Builder",
    "ConversationMirror",
    "EventOutbox",
    "Expires",
    "Forward",
    "InputAudio",
    "LedgerResponse",
    "MirroredItem",
    "OutOfBandReplies",
    "OutOfBandReply",
    "ReadinessCheck",
    "ResponseLedger",
    "ResponseTurns",
    "SessionTunables",
    "SpokenTurn",
    "SupervisedSession",
    "SupervisorPolicy",
    "TextTurn",
    "UpstreamAdapter",
    "UpstreamFailure",
    "UpstreamState",
    "UpstreamSupervisor",
    "answered_and_owed",
    "as_text",
    "env_value",
    "flush_when_due",
    "frames",
    "new_item_id",
    "new_response_id",
    "owed",
    "read_options",
    "silence",
    "text_param",
    "text_turns",
    "unknown_param_warnings",
]
