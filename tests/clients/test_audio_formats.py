"""Audio formats at the edge, end to end: a client declares a format, speaks in it through
``rtcore serve --provider echo``, and hears the reply in it.

The echo model takes PCM16 at 16 or 24 kHz and answers with a known tone (440 Hz, 0.2 of
full scale, 24 kHz, 60 ms per character), so both directions are checked against a
reference: the input's timing and energy through the model's energy VAD, the output's
frequency, level and shape against an ideal sine at the client's rate.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import connect

from rtcore.audio.g711 import alaw_decode, alaw_encode, ulaw_decode, ulaw_encode
from tests.audio.audio_signals import Samples, peak_frequency, rms, samples, sine, steady
from tests.transports.process import Served

BETA_HEADER = {"OpenAI-Beta": "realtime=v1"}
TONE_HZ, TONE_LEVEL = 440.0, 0.2 * 32767  # the echo model's voice "alloy"
REPLY = "I heard you."  # what the echo model says after a detected turn
SPEECH_MS, LEAD_MS = 800, 200


def pcm_encode(x: Samples) -> bytes:
    return x.astype("<i2").tobytes()


def pcm_decode(data: bytes) -> Samples:
    return samples(data)


class Case:
    def __init__(
        self,
        session: dict[str, Any],
        *,
        rate_in: int,
        rate_out: int,
        codec: str = "pcm16",
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> None:
        self.session = session
        self.rate_in = rate_in
        self.rate_out = rate_out
        self.encode: Callable[[Samples], bytes] = {
            "pcm16": pcm_encode,
            "ulaw": ulaw_encode,
            "alaw": alaw_encode,
        }[codec]
        self.decode: Callable[[bytes], Samples] = {
            "pcm16": pcm_decode,
            "ulaw": ulaw_decode,
            "alaw": alaw_decode,
        }[codec]
        self.g711 = codec != "pcm16"
        self.headers = headers or {}
        self.query = query


VAD = {"type": "server_vad", "silence_duration_ms": 300}


def beta(fmt: str) -> dict[str, Any]:
    return {
        "modalities": ["audio", "text"],
        "input_audio_format": fmt,
        "output_audio_format": fmt,
        "turn_detection": VAD,
        "input_audio_transcription": {"model": "whisper-1"},
    }


def ga(fmt: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "realtime",
        "output_modalities": ["audio"],
        "audio": {
            "input": {
                "format": fmt,
                "turn_detection": VAD,
                "transcription": {"model": "whisper-1"},
            },
            "output": {"format": fmt},
        },
    }


CASES = {
    # Telephony: G.711 at 8 kHz both ways (the model hears 16 kHz, speaks 24 kHz).
    "beta-g711_ulaw": Case(beta("g711_ulaw"), rate_in=8000, rate_out=8000, codec="ulaw"),
    "beta-g711_alaw": Case(beta("g711_alaw"), rate_in=8000, rate_out=8000, codec="alaw"),
    "ga-audio/pcmu": Case(ga({"type": "audio/pcmu"}), rate_in=8000, rate_out=8000, codec="ulaw"),
    "ga-audio/pcma": Case(ga({"type": "audio/pcma"}), rate_in=8000, rate_out=8000, codec="alaw"),
    # OpenAI clients' default: PCM16 at 24 kHz both ways.
    "ga-pcm-24k": Case(ga({"type": "audio/pcm", "rate": 24000}), rate_in=24000, rate_out=24000),
    "beta-pcm16-openai": Case(beta("pcm16"), rate_in=24000, rate_out=24000, headers=BETA_HEADER),
    # rtcore's extensions: other PCM16 rates, resampled both ways.
    "ga-pcm-16k": Case(ga({"type": "audio/pcm", "rate": 16000}), rate_in=16000, rate_out=16000),
    "ga-pcm-48k": Case(ga({"type": "audio/pcm", "rate": 48000}), rate_in=48000, rate_out=48000),
    # The seed's programs: beta pcm16 without a dialect signal is 16 kHz in, 24 kHz out...
    "beta-pcm16-seed": Case(beta("pcm16"), rate_in=16000, rate_out=24000),
    # ...and the URL knob says so for a client that does signal the dialect.
    "beta-pcm16-16k-knob": Case(
        beta("pcm16"),
        rate_in=16000,
        rate_out=24000,
        headers=BETA_HEADER,
        query="&input_audio_rate=16000",
    ),
}


def speech(rate: int) -> Samples:
    """Quiet, 800 ms of a 300 Hz tone at half scale (speech to an energy VAD), quiet."""
    lead = np.zeros(rate * LEAD_MS // 1000, dtype=np.int16)
    tail = np.zeros(rate * 700 // 1000, dtype=np.int16)
    return np.concatenate([lead, sine(300, rate, SPEECH_MS / 1000), tail])


def sine_fit(x: Samples, rate: int, freq: float) -> tuple[float, float, float]:
    """Least-squares fit of a sine at ``freq``: (amplitude, SNR in dB, worst residual)."""
    t = np.arange(len(x)) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    y = x.astype(np.float64)
    coef, *_ = np.linalg.lstsq(basis, y, rcond=None)
    fit = basis @ coef
    residual = y - fit
    snr = 10 * np.log10(np.sum(fit**2) / np.sum(residual**2))
    return float(np.hypot(*coef)), float(snr), float(np.max(np.abs(residual)))


async def converse(served: Served, case: Case) -> list[dict[str, Any]]:
    url = served.url("echo") + case.query
    async with connect(url, proxy=None, additional_headers=case.headers) as ws:
        events: list[dict[str, Any]] = [json.loads(await ws.recv())]
        await ws.send(json.dumps({"type": "session.update", "session": case.session}))
        voice = speech(case.rate_in)
        audio = case.encode(voice)
        step = case.rate_in * 20 // 1000 * (len(audio) // len(voice))  # bytes per 20 ms
        for i in range(0, len(audio), step):  # 20 ms chunks, as a real-time client sends
            chunk = base64.b64encode(audio[i : i + step]).decode()
            await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        async with asyncio.timeout(10):
            while events[-1]["type"] != "response.done":
                events.append(json.loads(await ws.recv()))
    return events


@pytest.mark.parametrize("name", CASES)
async def test_audio_both_ways(served: Served, name: str) -> None:
    case = CASES[name]
    events = await converse(served, case)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["type"], []).append(event)
    assert "error" not in by_type, by_type["error"]

    # In: the model heard the tone where it was and for as long as it lasted, so the audio
    # reached it at the right rate and loud enough (its VAD works on 20 ms frames).
    (started,) = by_type["input_audio_buffer.speech_started"]
    assert started["audio_start_ms"] == pytest.approx(LEAD_MS, abs=20)
    (heard,) = by_type["conversation.item.input_audio_transcription.completed"]
    match = re.fullmatch(r"\(spoken (\d+) ms\)", heard["transcript"])
    assert match, heard["transcript"]
    spoken = int(match[1])
    assert spoken == pytest.approx(SPEECH_MS, abs=40)

    # Out: the model's 440 Hz tone, in the declared encoding and rate.
    deltas = [
        e
        for t in ("response.audio.delta", "response.output_audio.delta")
        for e in by_type.get(t, [])
    ]
    out = case.decode(b"".join(base64.b64decode(e["delta"]) for e in deltas))
    expected_samples = len(REPLY) * 60 * case.rate_out // 1000
    assert len(out) == pytest.approx(expected_samples, abs=case.rate_out // 100)  # ±10 ms
    body = steady(out, case.rate_out)
    assert peak_frequency(body, case.rate_out) == pytest.approx(TONE_HZ, abs=3)
    amplitude, snr, worst = sine_fit(body, case.rate_out, TONE_HZ)
    assert amplitude == pytest.approx(TONE_LEVEL, rel=0.01)  # energy kept
    assert rms(body) == pytest.approx(TONE_LEVEL / np.sqrt(2), rel=0.01)
    # Clean: G.711 quantisation noise is ~38 dB below a tone at this level, resampling
    # noise ~80 dB. No clicks where the 40 ms chunks meet: no sample strays from the sine.
    assert snr > (33 if case.g711 else 60)
    assert worst < (0.01 if case.g711 else 0.001) * 32767
