"""The emulator's opt-in audio probe, and the benchmark's chunk markers read through it."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bench import speech as sig
from bench.emulator import MarkerProbe

from rtcore_sonic_emulator import NovaSonicEmulator, make_client
from tests.emulator.sdk_stream import SonicStream


def test_marker_round_trip_and_silence_stays_silent() -> None:
    cycle = sig.build_cycle()
    for session, seq in [(0, 0), (7, 123), (4095, sig.MAX_SEQ - 1)]:
        pcm = base64.b64decode(sig.chunk_b64(cycle, session, seq))
        assert len(pcm) == sig.CHUNK_BYTES
        samples = np.frombuffer(pcm, dtype="<i2")
        assert sig.read_marker(samples) == (session, seq)
    silent = np.frombuffer(base64.b64decode(sig.chunk_b64(cycle, 1, cycle.chunks - 1)), "<i2")
    assert np.sqrt(np.mean(silent.astype(np.float64) ** 2)) < 10  # far below -40 dBFS
    assert sig.read_marker(np.zeros(12, dtype="<i2")) is None
    with pytest.raises(ValueError, match="out of range"):
        sig.nibbles(sig.MAX_SESSIONS, 0)


def test_probe_finds_markers_however_chunks_are_grouped() -> None:
    cycle = sig.build_cycle()
    pcm = b"".join(base64.b64decode(sig.chunk_b64(cycle, 3, seq)) for seq in range(7))
    probe = MarkerProbe()
    # Events of 2.5, 1 and 3.5 chunks: markers are looked for on the stream's timeline.
    cut1, cut2 = sig.CHUNK_BYTES * 5 // 2, sig.CHUNK_BYTES * 7 // 2
    for part in (pcm[:cut1], pcm[cut1:cut2], pcm[cut2:]):
        probe.audio_in(1, part, time.monotonic_ns())
    seqs = [(row[0], row[1], row[4]) for row in probe.received]
    assert seqs == [(3, 0, 0), (3, 1, 0), (3, 2, 0), (3, 3, 1), (3, 4, 2), (3, 5, 2), (3, 6, 2)]
    probe.audio_out(1, 100, 5)
    probe.audio_out(1, 50, 6)
    dump = probe.dump()
    assert dump["sent"] == {"3:1": [(100, 5), (150, 6)]}
    assert probe.received == []


async def test_emulator_reports_audio_in_and_out_to_its_probe(tmp_path: Path) -> None:
    class Recorder:
        def __init__(self) -> None:
            self.ins: list[tuple[int, bytes, int]] = []
            self.outs: list[tuple[int, int, int]] = []

        def audio_in(self, stream: int, pcm: bytes, at_ns: int) -> None:
            self.ins.append((stream, pcm, at_ns))

        def audio_out(self, stream: int, size: int, at_ns: int) -> None:
            self.outs.append((stream, size, at_ns))

    from rtcore_sonic_emulator import utterance_pcm

    recorder = Recorder()
    before = time.monotonic_ns()
    async with NovaSonicEmulator(
        cert_dir=tmp_path, realtime_factor=0.0, probe=recorder, legacy_models=True
    ) as emu:
        client = await make_client(emu.endpoint, emu.ca_file)
        session = await SonicStream.open(client, "amazon.nova-sonic-v1:0")
        await session.start()
        pcm = utterance_pcm(1)
        await session.send_audio(pcm)
        await session.until("completionEnd")
        await session.close()
    assert b"".join(p for _, p, _ in recorder.ins) == pcm
    assert len({s for s, _, _ in recorder.ins}) == 1
    assert recorder.outs
    assert {s for s, _, _ in recorder.outs} == {recorder.ins[0][0]}
    stamps = [t for _, _, t in recorder.ins] + [t for _, _, t in recorder.outs]
    assert all(before <= t <= time.monotonic_ns() for t in stamps)


def test_pcm_chunks_are_the_base64_chunks() -> None:
    """What the Gemini direct client gives its SDK (PCM) is what the others send (base64)."""
    cycle = sig.build_cycle()
    for session, seq, phase in [(0, 0, 0), (5, 77, 13), (9, cycle.chunks + 3, 2)]:
        pcm = sig.chunk_pcm(cycle, session, seq, phase)
        assert pcm == base64.b64decode(sig.chunk_b64(cycle, session, seq, phase))


async def test_gemini_emulator_reports_audio_in_and_out_to_its_probe(tmp_path: Path) -> None:
    """The real google-genai SDK streams marked chunks: the probe reads every marker on the
    connection's audio timeline, and the reply's audio parts, sized, on the same stream."""
    import ssl

    from google import genai
    from google.genai import types

    from rtcore_gemini_emulator import GeminiLiveEmulator, Script

    probe = MarkerProbe()
    cycle = sig.build_cycle()
    script = Script().say(sig.TONE_SLOT, sig.TRANSCRIPT, reply=sig.REPLY)
    before = time.monotonic_ns()
    async with GeminiLiveEmulator(
        cert_dir=tmp_path, realtime_factor=0.0, script=script, probe=probe
    ) as emu:
        context = ssl.create_default_context(cafile=str(emu.ca_file))
        client = genai.Client(
            api_key="bench",
            http_options={"base_url": emu.base_url, "async_client_args": {"ssl": context}},
        )
        detection = types.AutomaticActivityDetection(
            silence_duration_ms=round(sig.ENDPOINT_SECONDS * 1000)
        )
        config = types.LiveConnectConfig(
            response_modalities=[types.Modality.AUDIO],
            realtime_input_config=types.RealtimeInputConfig(automatic_activity_detection=detection),
        )
        received = 0
        async with client.aio.live.connect(model="gemini-3.8-live", config=config) as session:
            for seq in range(cycle.trigger + 1):
                blob = types.Blob(
                    data=sig.chunk_pcm(cycle, 4, seq), mime_type="audio/pcm;rate=16000"
                )
                await session.send_realtime_input(audio=blob)
            async with asyncio.timeout(30):
                async for message in session.receive():
                    received += len(message.data or b"")
    dump = probe.dump()
    assert [(row[0], row[1]) for row in dump["received"]] == [
        (4, seq) for seq in range(cycle.trigger + 1)
    ]
    assert dump["unmarked"] == 0
    ((key, rows),) = dump["sent"].items()
    assert key.startswith("4:")
    assert int(key.split(":")[1]) == dump["received"][0][3]  # the stream the audio came in on
    assert rows[-1][0] == received > 0  # every byte the SDK got, counted
    stamps = [row[2] for row in dump["received"]] + [at for _, at in rows]
    assert all(before <= t <= time.monotonic_ns() for t in stamps)


def test_openai_cycle_is_24_khz_and_its_markers_read_on_its_timeline() -> None:
    cycle = sig.build_cycle(rate=sig.OPENAI_RATE)
    assert cycle.rate == 24000
    assert cycle.trigger == sig.build_cycle().trigger  # the same turn, in time
    pcm = b"".join(base64.b64decode(sig.chunk_b64(cycle, 2, seq)) for seq in range(5))
    assert len(pcm) == 5 * sig.chunk_bytes(24000) == 5 * 960
    probe = MarkerProbe(sig.OPENAI_RATE)
    probe.audio_in(1, pcm[:1500], 1)  # a chunk and a half, then the rest
    probe.audio_in(1, pcm[1500:], 2)
    assert [(row[0], row[1]) for row in probe.received] == [(2, seq) for seq in range(5)]
    assert probe.unmarked == 0


async def test_openai_emulator_reports_audio_in_and_out_to_its_probe() -> None:
    """The real openai SDK appends marked 24 kHz chunks: the probe reads every marker on the
    connection's audio timeline, and the reply's audio deltas, sized, on the same stream."""
    from openai import AsyncOpenAI

    from rtcore_openai_emulator import OpenAIRealtimeEmulator, Script

    probe = MarkerProbe(sig.OPENAI_RATE)
    cycle = sig.build_cycle(rate=sig.OPENAI_RATE)
    script = Script().say(sig.TONE_SLOT, sig.TRANSCRIPT, reply=sig.REPLY)
    pcm = {"type": "audio/pcm", "rate": sig.OPENAI_RATE}
    detection = {"type": "server_vad", "silence_duration_ms": round(sig.ENDPOINT_SECONDS * 1000)}
    session: Any = {
        "type": "realtime",
        "audio": {
            "input": {"format": pcm, "turn_detection": detection},
            "output": {"format": pcm, "voice": "alloy"},
        },
    }
    before = time.monotonic_ns()
    received = 0
    async with OpenAIRealtimeEmulator(realtime_factor=0.0, script=script, probe=probe) as emu:
        client = AsyncOpenAI(api_key="bench", websocket_base_url=emu.ws_base_url + "/v1")
        async with client.realtime.connect(model="gpt-realtime-2") as connection:
            await connection.session.update(session=session)
            for seq in range(cycle.trigger + 1):
                audio = sig.chunk_b64(cycle, 4, seq).decode()
                await connection.input_audio_buffer.append(audio=audio)
            async with asyncio.timeout(30):
                async for event in connection:
                    if event.type == "response.output_audio.delta":
                        received += len(base64.b64decode(event.delta))
                    elif event.type == "response.done":
                        break
    dump = probe.dump()
    assert [(row[0], row[1]) for row in dump["received"]] == [
        (4, seq) for seq in range(cycle.trigger + 1)
    ]
    assert {row[5] for row in dump["received"]} == {1}  # one chunk per append
    assert dump["unmarked"] == 0
    ((key, rows),) = dump["sent"].items()
    assert key == f"4:{dump['received'][0][3]}"  # the stream the audio came in on
    assert rows[-1][0] == received > 0  # every byte the SDK got, counted
    stamps = [row[2] for row in dump["received"]] + [at for _, at in rows]
    assert all(before <= t <= time.monotonic_ns() for t in stamps)
