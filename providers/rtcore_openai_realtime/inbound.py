"""Upstream server events -> neutral events (no I/O).

Names: a spoken turn the upstream's VAD found gets an id of the provider's
(``new_item_id``), mapped to the upstream's item id on that connection; a committed turn
takes the core's id (``CommitAudio``) in the order commits were sent. A response the core
asked for is matched by the core's id the ``response.create`` carried in its metadata (in
order, for a vendor that does not echo metadata); one the upstream starts itself (server
VAD) is the provider's, announced with ``ResponseStarted`` before its output. Every open
response ends with one ``ResponseDone``; output of one the core cancelled is dropped.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

import msgspec

from rtcore.kit import new_item_id, new_response_id
from rtcore.provider import messages as n
from rtcore_openai_realtime.inbound_mcp import CALL_EVENTS, LISTING_EVENTS, McpEvents
from rtcore_openai_realtime.upstream import Upstream


class Open(msgspec.Struct, kw_only=True):
    """A response the core knows of."""

    core_id: str
    conversation: bool = True
    upstream_id: str | None = None
    create: n.CreateResponse | None = None  # what the core asked (None: the upstream's own)


class Actions(msgspec.Struct, kw_only=True):
    """What the session must send upstream after an event."""

    cancel: list[str] = msgspec.field(default_factory=list)  # upstream response ids
    idle: bool = False  # the in-band response ended: a waiting request may go


_STATUSES: dict[str, n.ResponseStatus] = {
    "completed": "completed",
    "cancelled": "cancelled",
    "incomplete": "incomplete",
    "failed": "failed",
}
_TEXT = ("response.output_text.delta", "response.text.delta")
_AUDIO = ("response.output_audio.delta", "response.audio.delta")
_SAID = ("response.output_audio_transcript.delta", "response.audio_transcript.delta")


def usage_of(raw: Any) -> n.Usage:
    if not isinstance(raw, dict):
        return n.Usage()
    into = raw.get("input_token_details") or {}
    out = raw.get("output_token_details") or {}
    in_audio = int(into.get("audio_tokens") or 0)
    in_text = int(into.get("text_tokens") or 0)
    if not into:
        in_text = int(raw.get("input_tokens") or 0)
    out_audio = int(out.get("audio_tokens") or 0)
    out_text = int(out.get("text_tokens") or 0)
    if not out:
        out_text = int(raw.get("output_tokens") or 0)
    return n.Usage(
        input_text_tokens=in_text,
        input_audio_tokens=in_audio,
        output_text_tokens=out_text,
        output_audio_tokens=out_audio,
        cached_tokens=int(into.get("cached_tokens") or 0),
        cached_audio_tokens=int((into.get("cached_tokens_details") or {}).get("audio_tokens") or 0),
    )


class Inbound:
    def __init__(self, *, echoes_metadata: bool) -> None:
        # A vendor that sends no metadata back has its responses matched in order.
        self.echoes_metadata = echoes_metadata
        # Responses sent upstream whose response.created has not come, in order.
        self.pending: deque[Open] = deque()
        self.by_upstream: dict[str, Open] = {}
        self.open: dict[str, Open] = {}  # core id -> open response
        # Core ids cancelled before the upstream created them: cancelled upstream on sight.
        self.cancelled_early: set[str] = set()
        self.commits: deque[str] = deque()  # core ids of commits sent, not yet committed
        self.speaking: str | None = None  # the spoken turn the upstream is hearing
        self.speaking_since_ms = 0  # where it began in the session's input audio
        self.transcribed: dict[str, str] = {}  # user item -> transcript told so far
        self.calls: set[str] = set()
        # The upstream transcribes user turns (else a committed turn's transcript is
        # closed, empty, at once).
        self.transcribing = True
        # Set when the upstream showed it heard the user (for the session's replay).
        self.heard = False
        self.mcp = McpEvents()

    # -- the session's side ----------------------------------------------------------------

    def requested(self, create: n.CreateResponse) -> Open:
        response = Open(core_id=create.response_id, conversation=create.conversation, create=create)
        self.open[create.response_id] = response
        return response

    def sent(self, create: n.CreateResponse) -> None:
        """The ``response.create`` went upstream: its response.created comes next."""
        if (response := self.open.get(create.response_id)) is not None:
            self.pending.append(response)

    def pending_in_band(self) -> bool:
        return any(p.conversation for p in self.pending)

    def unsend(self, core_id: str) -> n.CreateResponse | None:
        """The upstream refused a request only because another response ran: it waits."""
        response = self.open.get(core_id)
        if response is None or response.create is None:
            return None
        self.pending = deque(p for p in self.pending if p.core_id != core_id)
        return response.create

    def cancel(self, core_id: str) -> tuple[n.ResponseDone | None, str | None]:
        """The core cancels: its done now, and the upstream id to cancel (if created)."""
        response = self.open.pop(core_id, None)
        if response is None:
            return None, None
        if response.upstream_id is None:
            self.cancelled_early.add(core_id)
        done = n.ResponseDone(response_id=core_id, status="cancelled", reason="client_cancelled")
        return done, response.upstream_id

    def fail_all(self, error: n.ResponseError | None, status: n.ResponseStatus) -> list[n.Event]:
        out: list[n.Event] = []
        if self.speaking is not None:
            out.append(n.InputTranscript(item_id=self.speaking, text="", final=True))
            self.speaking = None
        for core_id in list(self.open):
            self.open.pop(core_id)
            out.append(n.ResponseDone(response_id=core_id, status=status, error=error))
        self.pending.clear()
        self.by_upstream.clear()
        for item_id in self.commits:
            out.append(n.InputTranscript(item_id=item_id, text="", final=True))
        self.commits.clear()
        return out

    def failed_request(self, core_id: str, error: n.ResponseError) -> list[n.Event]:
        """The upstream refused a response.create."""
        self.pending = deque(p for p in self.pending if p.core_id != core_id)
        response = self.open.pop(core_id, None)
        if response is None:
            return []
        return [n.ResponseDone(response_id=core_id, status="failed", error=error)]

    # -- the upstream's events -------------------------------------------------------------

    def feed(self, up: Upstream, ev: dict[str, Any], actions: Actions) -> list[n.Event]:
        kind = ev.get("type", "")
        if kind in _AUDIO or kind in _TEXT or kind in _SAID:
            return self._delta(kind, ev)
        if kind in LISTING_EVENTS:
            return self.mcp.listing(up, ev)
        if kind in CALL_EVENTS:
            # (response.mcp_call.* name the item alone: its response is the item's.)
            rid = self.mcp.response_of.get(str(ev.get("item_id")))
            return [] if rid not in self.open else self.mcp.call_step(str(rid), ev)
        handler = _HANDLERS.get(kind)
        if handler is None:
            return []
        events: list[n.Event] = handler(self, up, ev, actions)
        return events

    def _target(self, upstream_rid: Any) -> str | None:
        response = self.by_upstream.get(str(upstream_rid))
        if response is None or response.core_id not in self.open:
            return None
        return response.core_id

    def _delta(self, kind: str, ev: dict[str, Any]) -> list[n.Event]:
        rid = self._target(ev.get("response_id"))
        if rid is None:
            return []
        delta = ev.get("delta") or ""
        if kind in _AUDIO:
            return [n.AudioDelta(response_id=rid, pcm=base64.b64decode(delta))]
        if kind in _TEXT:
            return [n.TextDelta(response_id=rid, text=delta)]
        return [n.TranscriptDelta(response_id=rid, text=delta)]

    def _rate_limits(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        limits = tuple(
            n.RateLimit(
                name=str(r.get("name") or ""),
                limit=int(r.get("limit") or 0),
                remaining=int(r.get("remaining") or 0),
                reset_seconds=float(r.get("reset_seconds") or 0.0),
            )
            for r in ev.get("rate_limits") or ()
            if isinstance(r, dict)
        )
        return [n.RateLimits(limits=limits)] if limits else []

    def _speech_started(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        core = new_item_id()
        up.name(core, str(ev.get("item_id") or core))
        self.speaking = core
        self.heard = True
        start = int(up.audio_base_ms + int(ev.get("audio_start_ms") or 0))
        self.speaking_since_ms = start
        return [n.SpeechStarted(item_id=core, audio_start_ms=start)]

    def _speech_stopped(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        upstream_id = str(ev.get("item_id") or "")
        core = up.core_of.get(upstream_id)
        if core is None:
            core = new_item_id()
            up.name(core, upstream_id)
        if self.speaking == core:
            self.speaking = None
        self.heard = True
        end = int(up.audio_base_ms + int(ev.get("audio_end_ms") or 0))
        return [n.SpeechStopped(item_id=core, audio_end_ms=end)]

    def _committed(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        upstream_id = str(ev.get("item_id") or "")
        self.heard = True
        if upstream_id in up.core_of:
            return []  # a spoken turn, named at its start
        core = self.commits.popleft() if self.commits else new_item_id()
        up.name(core, upstream_id)
        if not self.transcribing:
            return [n.InputTranscript(item_id=core, text="", final=True)]
        return []

    def _transcript_delta(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        core = up.core_of.get(str(ev.get("item_id")))
        delta = str(ev.get("delta") or "")
        if core is None or not delta:
            return []
        self.transcribed[core] = self.transcribed.get(core, "") + delta
        return [n.InputTranscript(item_id=core, text=delta, final=False)]

    def _transcript_updated(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        """xAI's cumulative transcript: what it adds to what was told."""
        core = up.core_of.get(str(ev.get("item_id")))
        text = str(ev.get("transcript") or "")
        told = self.transcribed.get(core or "", "")
        if core is None or not text.startswith(told) or text == told:
            return []
        self.transcribed[core] = text
        return [n.InputTranscript(item_id=core, text=text[len(told) :], final=False)]

    def _transcript_done(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        core = up.core_of.get(str(ev.get("item_id")))
        if core is None:
            return []
        text = str(ev.get("transcript") or "")
        told = self.transcribed.pop(core, "")
        rest = text[len(told) :] if text.startswith(told) else ""
        return [n.InputTranscript(item_id=core, text=rest, final=True)]

    def _transcript_failed(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        core = up.core_of.get(str(ev.get("item_id")))
        if core is None:
            return []
        self.transcribed.pop(core, None)
        error = ev.get("error") or {}
        failure = n.TranscriptError(
            code=str(error.get("code") or "transcription_failed"),
            message=str(error.get("message") or "The upstream could not transcribe the turn."),
        )
        return [n.InputTranscript(item_id=core, text="", final=True, error=failure)]

    def _response_created(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        response = ev.get("response") or {}
        upstream_id = str(response.get("id") or "")
        metadata = response.get("metadata") or {}
        core_id = metadata.get("rtcore_response_id") if isinstance(metadata, dict) else None
        out: list[n.Event] = []
        match: Open | None = None
        if core_id is not None:
            match = next((p for p in self.pending if p.core_id == core_id), None)
            if match is not None:
                self.pending.remove(match)
        elif self.pending and not self.echoes_metadata:
            match = self.pending.popleft()
        self.heard = True
        if match is None and core_id is None:
            match = Open(core_id=new_response_id())
            self.open[match.core_id] = match
            out.append(n.ResponseStarted(response_id=match.core_id))
        if match is None:
            return out
        match.upstream_id = upstream_id
        self.by_upstream[upstream_id] = match
        if match.conversation:
            up.busy = upstream_id
        if match.core_id in self.cancelled_early:
            self.cancelled_early.discard(match.core_id)
            a.cancel.append(upstream_id)
        return out

    def _item_added(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        rid = self._target(ev.get("response_id"))
        return [] if rid is None else self.mcp.output_item(up, rid, ev, done=False)

    def _item_done(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        item = ev.get("item") or {}
        if str(item.get("type")).startswith("mcp_"):
            rid = self._target(ev.get("response_id"))
            return [] if rid is None else self.mcp.output_item(up, rid, ev, done=True)
        response = self.by_upstream.get(str(ev.get("response_id")))
        if item.get("type") == "message" and item.get("role") == "assistant":
            if response is not None and response.conversation:
                up.assistant.append(str(item.get("id")))
            return []
        if item.get("type") == "function_call":
            up.call_items[str(item.get("call_id"))] = str(item.get("id"))
            return self._call(ev.get("response_id"), item)
        return []

    def _arguments_done(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        if not ev.get("name"):
            return []  # the item's done names it
        return self._call(ev.get("response_id"), ev)

    def _call(self, upstream_rid: Any, call: dict[str, Any]) -> list[n.Event]:
        call_id = str(call.get("call_id") or "")
        rid = self._target(upstream_rid)
        # xAI may announce one call more than once (reference §4a): one ToolCall each.
        if rid is None or not call_id or call_id in self.calls:
            return []
        self.calls.add(call_id)
        return [
            n.ToolCall(
                response_id=rid,
                call_id=call_id,
                name=str(call.get("name") or ""),
                arguments=str(call.get("arguments") or "{}"),
            )
        ]

    def _response_done(self, up: Upstream, ev: dict[str, Any], a: Actions) -> list[n.Event]:
        response = ev.get("response") or {}
        upstream_id = str(response.get("id") or "")
        if up.busy == upstream_id:
            up.busy = None
            a.idle = True
        entry = self.by_upstream.pop(upstream_id, None)
        if entry is None or self.open.pop(entry.core_id, None) is None:
            return []
        status = _STATUSES.get(str(response.get("status") or "completed"), "failed")
        details = response.get("status_details") or {}
        reason = details.get("reason")
        error = None
        if status == "failed":
            err = details.get("error") or {}
            error = n.ResponseError(
                code=str(err.get("code") or "response_failed"),
                message=str(err.get("message") or "The upstream response failed."),
            )
        return [
            n.ResponseDone(
                response_id=entry.core_id,
                status=status,
                reason=reason if isinstance(reason, str) else None,
                usage=usage_of(response.get("usage")),
                error=error,
            )
        ]


type _Handler = Any
_HANDLERS: dict[str, _Handler] = {
    "input_audio_buffer.speech_started": Inbound._speech_started,
    "input_audio_buffer.speech_stopped": Inbound._speech_stopped,
    "input_audio_buffer.committed": Inbound._committed,
    "conversation.item.input_audio_transcription.delta": Inbound._transcript_delta,
    "conversation.item.input_audio_transcription.updated": Inbound._transcript_updated,
    "conversation.item.input_audio_transcription.completed": Inbound._transcript_done,
    "conversation.item.input_audio_transcription.failed": Inbound._transcript_failed,
    "response.created": Inbound._response_created,
    "response.output_item.added": Inbound._item_added,
    "response.output_item.done": Inbound._item_done,
    "response.function_call_arguments.done": Inbound._arguments_done,
    "response.done": Inbound._response_done,
    "rate_limits.updated": Inbound._rate_limits,
}
