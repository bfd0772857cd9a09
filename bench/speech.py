"""The user's side of every benchmark conversation: speech-like audio with chunk markers.

Each session speaks one tone-coded utterance per cycle (the emulator hears it as a turn and
answers with a scripted reply), then stays silent while the reply plays. Every 20 ms chunk
carries a marker in the low 4 bits of its first 12 samples: a magic, the session number,
the chunk's sequence number and a check nibble. The marker is inaudible, keeps silence
silent for any energy detector, and survives a gateway that passes PCM through unchanged,
so the emulator's probe can tell which chunk of which session it just received.
"""

from __future__ import annotations

import base64
import math
import struct
from dataclasses import dataclass

import numpy as np

RATE = 16000
CHUNK_MS = 20
CHUNK_SAMPLES = RATE * CHUNK_MS // 1000
CHUNK_BYTES = 2 * CHUNK_SAMPLES
MARK_SAMPLES = 12
MARK_BYTES = 2 * MARK_SAMPLES  # a multiple of 3: its base64 joins the rest's cleanly
_MAGIC = (0xA, 0x5, 0xC)
MAX_SESSIONS = 1 << 12
MAX_SEQ = 1 << 20

TONE_SLOT = 3
TRANSCRIPT = "Benchmark question."
REPLY = "Sure, here is a short answer to your question about the weather."
LEAD_CHUNKS = 5  # 0.1 s of silence before the tone
TONE_CHUNKS = 30  # 0.6 s tone
ENDPOINT_SECONDS = 0.6  # the emulator's end-of-turn silence in benchmarks
OUTPUT_RATE = 24000
# The OpenAI protocol's PCM is 24 kHz both ways (16 kHz audio would be converted on the way,
# and its markers with it): its sessions speak the same cycle at that rate.
OPENAI_RATE = 24000


def rate_of(provider: str) -> int:
    """The input sample rate of a provider's benchmark audio."""
    return OPENAI_RATE if provider == "openai" else RATE


def chunk_bytes(rate: int) -> int:
    return 2 * (rate * CHUNK_MS // 1000)


def nibbles(session: int, seq: int) -> tuple[int, ...]:
    if not (0 <= session < MAX_SESSIONS and 0 <= seq < MAX_SEQ):
        raise ValueError("session or sequence number out of range")
    body = (
        *_MAGIC,
        *((session >> s) & 0xF for s in (8, 4, 0)),
        *((seq >> s) & 0xF for s in (16, 12, 8, 4, 0)),
    )
    check = 0
    for value in body:
        check ^= value
    return (*body, check ^ 0x3)


def read_marker(head: np.ndarray) -> tuple[int, int] | None:
    """(session, seq) from the first 12 samples of a chunk, or None if unmarked."""
    if head.size < MARK_SAMPLES:
        return None
    values = [int(v) & 0xF for v in head[:MARK_SAMPLES]]
    if tuple(values[:3]) != _MAGIC:
        return None
    check = 0x3
    for value in values[:11]:
        check ^= value
    if check != values[11]:
        return None
    session = (values[3] << 8) | (values[4] << 4) | values[5]
    seq = 0
    for value in values[6:11]:
        seq = (seq << 4) | value
    return session, seq


@dataclass(frozen=True)
class Cycle:
    """One utterance and the silence after it, as chunks (markers left blank)."""

    heads: tuple[tuple[int, ...], ...]  # the first 12 samples of each chunk, low nibble 0
    tails_b64: tuple[bytes, ...]  # base64 of each chunk after its first 12 samples
    trigger: int  # index of the chunk whose arrival ends the user's turn at the emulator
    tails_pcm: tuple[bytes, ...] = ()  # each chunk after its first 12 samples, as PCM
    rate: int = RATE

    @property
    def chunks(self) -> int:
        return len(self.heads)

    @property
    def seconds(self) -> float:
        return self.chunks * CHUNK_MS / 1000


def reply_seconds() -> float:
    from rtcore_sonic_emulator import voice

    return voice.speech_seconds(REPLY)


def build_cycle(seconds: float | None = None, rate: int = RATE) -> Cycle:
    from rtcore_sonic_emulator import utterance_pcm

    chunk_samples = chunk_bytes(rate) // 2
    speech = (LEAD_CHUNKS + TONE_CHUNKS) * CHUNK_MS / 1000
    # Long enough for the turn to end and the whole reply to play before the next one.
    needed = speech + ENDPOINT_SECONDS + reply_seconds() + 0.6
    total = max(seconds or 0.0, needed)
    chunks = math.ceil(total * 1000 / CHUNK_MS)
    pcm = utterance_pcm(
        TONE_SLOT,
        sample_rate=rate,
        seconds=TONE_CHUNKS * CHUNK_MS / 1000,
        lead_silence=LEAD_CHUNKS * CHUNK_MS / 1000,
        trail_silence=(chunks - LEAD_CHUNKS - TONE_CHUNKS) * CHUNK_MS / 1000,
    )
    samples = np.frombuffer(pcm, dtype="<i2").copy()
    samples = samples[: chunks * chunk_samples]
    heads: list[tuple[int, ...]] = []
    tails: list[bytes] = []
    for index in range(chunks):
        chunk = samples[index * chunk_samples : (index + 1) * chunk_samples]
        heads.append(tuple(int(v) & ~0xF for v in chunk[:MARK_SAMPLES]))
        tails.append(chunk[MARK_SAMPLES:].astype("<i2").tobytes())
    endpoint_frames = max(1, round(ENDPOINT_SECONDS * 1000 / CHUNK_MS))
    trigger = LEAD_CHUNKS + TONE_CHUNKS + endpoint_frames - 1
    return Cycle(
        tuple(heads), tuple(base64.b64encode(t) for t in tails), trigger, tuple(tails), rate
    )


_HEAD = struct.Struct(f"<{MARK_SAMPLES}h")


def chunk_b64(cycle: Cycle, session: int, seq: int, phase: int = 0) -> bytes:
    """Base64 of chunk ``seq`` of ``session``, marker included. The session's audio is the
    cycle over and over, started ``phase`` chunks into it."""
    index = (seq + phase) % cycle.chunks
    marks = nibbles(session, seq)
    head = _HEAD.pack(*(h | m for h, m in zip(cycle.heads[index], marks, strict=True)))
    return base64.b64encode(head) + cycle.tails_b64[index]


def chunk_pcm(cycle: Cycle, session: int, seq: int, phase: int = 0) -> bytes:
    """Chunk ``seq`` of ``session`` as PCM (what an SDK that encodes for itself is given):
    the same samples as :func:`chunk_b64`."""
    index = (seq + phase) % cycle.chunks
    marks = nibbles(session, seq)
    head = _HEAD.pack(*(h | m for h, m in zip(cycle.heads[index], marks, strict=True)))
    return head + cycle.tails_pcm[index]
