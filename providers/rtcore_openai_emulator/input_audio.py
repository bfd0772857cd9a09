"""The input audio buffer of one connection (reference §3.3): appends heard through server
VAD or committed by the client, each turn a user item with its transcription, and the audio
of items the client creates."""

from __future__ import annotations

import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rtcore_emulated_speech import tones
from rtcore_emulated_speech.script import Script
from rtcore_emulated_speech.vad import EnergyVad

from .audio import AudioFormat
from .errors import ClientError
from .ids import new_id
from .items import Conversation, Entry, Meta, decode_audio
from .outbox import Outbox
from .probe import AudioProbe
from .session_config import SessionConfig
from .stats import Heard, Stats
from .tokens import input_audio_tokens, text_tokens
from .vendors import Vendor

# Silence that ends a turn under semantic VAD, by eagerness: the emulator's figures, each
# below the 2.1 s that ends every tone-coded utterance.
EAGERNESS_SECONDS = {"high": 0.5, "medium": 0.8, "auto": 0.8, "low": 1.5}
VAD_SLICE_SECONDS = 0.02
MIN_COMMIT_MS = 100
_NEVER = 1e9


@dataclass
class _Buffer:
    """The input audio buffer and its detector (reference §3.3)."""

    format: AudioFormat
    buffer: bytearray = field(default_factory=bytearray)
    samples: int = 0  # all audio heard this session, for audio_start_ms / audio_end_ms
    vad: EnergyVad | None = None
    item_id: str | None = None  # the item of the speech in progress
    start_ms: int = 0

    @property
    def ms(self) -> int:
        return int(self.samples * 1000 / self.format.sample_rate)

    def buffered_ms(self) -> int:
        return int(len(self.buffer) / 2 * 1000 / self.format.sample_rate)


class InputAudio:
    def __init__(
        self,
        *,
        config: SessionConfig,
        out: Outbox,
        script: Script,
        stats: Stats,
        conversation: Conversation,
        connection: int,
        probe: AudioProbe | None,
        interrupt: Callable[[str], Awaitable[None]],
        respond: Callable[[], Awaitable[None]],
    ) -> None:
        """``interrupt`` cancels the running response (with its reason) when speech starts;
        ``respond`` answers a turn server VAD ended."""
        self.config = config
        self.out = out
        self.script = script
        self.stats = stats
        self.conversation = conversation
        self.connection = connection
        self.probe = probe
        self._interrupt = interrupt
        self._respond = respond
        self._buffer = _Buffer(config.input_format)

    def reconfigure(self) -> None:
        """The session was updated: a new input format starts a new buffer, and the detector
        is rebuilt with the new settings by the next append."""
        if self.config.input_format != self._buffer.format:
            self._buffer = _Buffer(self.config.input_format, samples=0)
        self._buffer.vad = None

    async def on_append(self, event: dict[str, Any]) -> None:
        raw = decode_audio(event.get("audio"), "audio")
        await self.hear(raw)

    async def hear(self, raw: bytes) -> None:
        arrived = time.monotonic_ns() if self.probe is not None else 0
        self.stats.audio_in.add(raw)
        state = self._buffer
        pcm = state.format.decode(raw)
        if self.probe is not None:
            self.probe.audio_in(self.connection, pcm, arrived)
        state.buffer.extend(pcm)
        detection = self.config.turn_detection
        if detection is None:
            state.samples += len(pcm) // 2
            return
        if state.vad is None:
            state.vad = self._new_vad(state.format.sample_rate, detection)
        step = 2 * max(1, round(VAD_SLICE_SECONDS * state.format.sample_rate))
        for position in range(0, len(pcm), step):
            piece = pcm[position : position + step]
            state.samples += len(piece) // 2
            result = state.vad.feed(piece)
            if result.speech_started:
                await self._speech_started(detection)
            if result.turn is not None:
                slot = tones.detect_slot(result.turn, state.format.sample_rate)
                await self._speech_stopped(slot, result.turn_seconds, detection)
            elif state.item_id is not None and not state.vad.in_speech:
                # Too short a burst to be a turn: heard as speech that is no code.
                await self._speech_stopped(None, 0.0, detection)

    def _new_vad(self, rate: int, detection: dict[str, Any]) -> EnergyVad:
        if detection.get("type") == "semantic_vad":
            endpoint = EAGERNESS_SECONDS.get(str(detection.get("eagerness")), 0.8)
        else:
            endpoint = max(0.02, int(detection.get("silence_duration_ms") or 0) / 1000)
        return EnergyVad(rate, endpoint)

    async def _speech_started(self, detection: dict[str, Any]) -> None:
        state = self._buffer
        state.item_id = new_id("item_")
        padding = int(detection.get("prefix_padding_ms") or 0)
        onset_ms = int(state.vad.onset_seconds * 1000) if state.vad is not None else 0
        state.start_ms = max(0, state.ms - onset_ms - padding)
        await self.out.send(
            "input_audio_buffer.speech_started",
            audio_start_ms=state.start_ms,
            item_id=state.item_id,
        )
        if detection.get("interrupt_response", True):
            await self._interrupt("turn_detected")

    async def _speech_stopped(
        self, slot: int | None, seconds: float, detection: dict[str, Any]
    ) -> None:
        state = self._buffer
        item_id = state.item_id or new_id("item_")
        state.item_id = None
        end_ms = state.ms
        await self.out.send(
            "input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id
        )
        await self._commit(item_id, slot, seconds, (end_ms - state.start_ms) / 1000)
        if detection.get("create_response", True):
            await self._respond()

    async def on_commit(self, event: dict[str, Any]) -> None:
        state = self._buffer
        if not state.buffer:
            raise ClientError(
                "Error committing input audio buffer: the buffer is empty.",
                code="input_audio_buffer_commit_empty",
            )
        if state.buffered_ms() < MIN_COMMIT_MS:
            raise ClientError(
                "Error committing input audio buffer: buffer too small. Expected at least "
                f"{MIN_COMMIT_MS}ms of audio, but buffer only has {state.buffered_ms()}ms of "
                "audio.",
                code="input_audio_buffer_commit_empty",
            )
        vad = EnergyVad(state.format.sample_rate, _NEVER)
        vad.feed(bytes(state.buffer))
        result = vad.flush()
        slot = (
            tones.detect_slot(result.turn, state.format.sample_rate)
            if result.turn is not None
            else None
        )
        item_id = state.item_id or new_id("item_")
        state.item_id = None
        state.vad = None
        await self._commit(item_id, slot, result.turn_seconds, state.buffered_ms() / 1000)

    async def on_clear(self, event: dict[str, Any]) -> None:
        self._buffer.buffer.clear()
        self._buffer.vad = None
        self._buffer.item_id = None
        await self.out.send("input_audio_buffer.cleared")

    async def _commit(self, item_id: str, slot: int | None, voiced: float, seconds: float) -> None:
        """The buffer becomes a user item (reference §3.3): committed, item added/done, and
        the input transcription when the session asks for one."""
        self._buffer.buffer.clear()
        self.stats.heard.append(Heard(self.connection, slot, voiced))
        said = self.script.transcript(slot)
        item = {
            "id": item_id,
            "object": "realtime.item",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        entry = Entry(item, Meta(said=said, audio_seconds=max(0.0, seconds)))
        previous = self.conversation.add(entry)
        await self.out.send(
            "input_audio_buffer.committed", previous_item_id=previous, item_id=item_id
        )
        await self.out.send(
            "conversation.item.added", previous_item_id=previous, item=copy.deepcopy(item)
        )
        if self.config.vendor is not Vendor.XAI:
            await self.out.send("conversation.item.done", item=copy.deepcopy(item))
        if self.config.transcription is not None:
            await self._transcribe(entry, said, seconds)

    async def _transcribe(self, entry: Entry, said: str, seconds: float) -> None:
        item_id = entry.item["id"]
        words = said.split(" ")
        sofar = ""
        for index, word in enumerate(words):
            piece = word if index == len(words) - 1 else word + " "
            sofar += piece
            if self.config.vendor is Vendor.XAI:
                # xAI's transcript is cumulative and may be revised (reference §2).
                await self.out.send(
                    "conversation.item.input_audio_transcription.updated",
                    item_id=item_id,
                    content_index=0,
                    transcript=sofar,
                )
            else:
                await self.out.send(
                    "conversation.item.input_audio_transcription.delta",
                    item_id=item_id,
                    content_index=0,
                    delta=piece,
                )
        entry.item["content"][0]["transcript"] = said
        audio = input_audio_tokens(seconds)
        out_tokens = text_tokens(said)
        await self.out.send(
            "conversation.item.input_audio_transcription.completed",
            item_id=item_id,
            content_index=0,
            transcript=said,
            usage={
                "type": "tokens",
                "total_tokens": audio + out_tokens,
                "input_tokens": audio,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio},
                "output_tokens": out_tokens,
            },
        )

    def listen(self, data: Any, index: int) -> tuple[str, float]:
        """What an ``input_audio`` content part says (the tone code) and how long it is."""
        fmt = self.config.input_format
        pcm = fmt.decode(decode_audio(data, f"item.content[{index}].audio"))
        vad = EnergyVad(fmt.sample_rate, _NEVER)
        vad.feed(pcm)
        result = vad.flush()
        slot = tones.detect_slot(result.turn, fmt.sample_rate) if result.turn is not None else None
        self.stats.heard.append(Heard(self.connection, slot, result.turn_seconds))
        return self.script.transcript(slot), len(pcm) / 2 / fmt.sample_rate
