"""Measure how many live sessions one emulator process sustains.

``python -m bench.capacity --sessions 200 --seconds 20`` starts the
emulator in a child process and drives it with a light raw HTTP/2 client (the SDK costs ~0.5 ms
of CPU per event and would measure itself instead). Every session streams 16 kHz audio in real
time (64 ms chunks, ``--chunk-ms`` to change) and speaks a tone-coded utterance every few
seconds; the report gives the emulator's CPU use (also per input event), the events it sent,
and reply latency: from sending the chunk that completes the end-of-turn silence to receiving
the first ``audioOutput``. ``--signed`` wraps every input event in a signature envelope as the
SDK does.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import os
import ssl
import statistics
import sys
import time
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import msgspec
from smithy_aws_event_stream.events import EventMessage

from rtcore_sonic_emulator import wire
from rtcore_sonic_emulator.model import ENDPOINT_SECONDS
from rtcore_sonic_emulator.tones import silence_pcm, utterance_pcm
from rtcore_sonic_emulator.validation import V2

RATE = 16000
STREAMS_PER_CONNECTION = 50
PROMPT = "p"  # prompt names are per stream, so every session can use the same one


@dataclass
class Totals:
    events: int = 0
    audio_chunks: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    blocked: int = 0


class _Chunk(msgspec.Struct):
    data: bytes = msgspec.field(name="bytes")


_chunk_decoder = msgspec.json.Decoder(_Chunk)
_json_decoder = msgspec.json.Decoder()


def _event(name: str, body: dict[str, object]) -> bytes:
    return wire.encode_chunk({"event": {name: body}})


def _signed(frame: bytes) -> bytes:
    """``frame`` in a SigV4-style envelope, as the SDK sends it (the emulator does not verify
    signatures, so a fixed one will do)."""
    headers: dict[str, datetime.datetime | bytes] = {
        ":date": datetime.datetime.now(datetime.UTC),
        ":chunk-signature": bytes(32),
    }
    return EventMessage(headers=headers, payload=frame).encode()


@functools.cache
def _program(slot: int) -> bytes:
    # Each session talks in a loop: a 0.6 s utterance, 2.1 s of silence, then 3 s of quiet.
    return utterance_pcm(slot) + silence_pcm(3.0)


@functools.cache
def _audio_frame(slot: int, offset: int, size: int, signed: bool) -> bytes:
    # The frames repeat with the program, so they are built once for all sessions.
    piece = _program(slot)[offset : offset + size]
    body = {"promptName": PROMPT, "contentName": "audio", "content": piece}
    frame = wire.encode_chunk({"event": {"audioInput": body}})
    return _signed(frame) if signed else frame


def _opening(prompt: str) -> list[bytes]:
    audio = {"mediaType": "audio/lpcm", "sampleSizeBits": 16, "channelCount": 1}
    return [
        _event("sessionStart", {"inferenceConfiguration": {"maxTokens": 1024}}),
        _event(
            "promptStart",
            {
                "promptName": prompt,
                "audioOutputConfiguration": {
                    **audio,
                    "sampleRateHertz": 24000,
                    "voiceId": "matthew",
                    "encoding": "base64",
                    "audioType": "SPEECH",
                },
            },
        ),
        _event(
            "contentStart",
            {
                "promptName": prompt,
                "contentName": "audio",
                "type": "AUDIO",
                "role": "USER",
                "interactive": True,
                "audioInputConfiguration": {**audio, "sampleRateHertz": 16000},
            },
        ),
    ]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.h2.increment_flow_control_window(1 << 24)
        self.decoders: dict[int, wire.FrameDecoder] = {}
        self.on_event: dict[int, asyncio.Queue[tuple[str, float]]] = {}
        self.ready = asyncio.Event()
        self.totals = Totals()

    def flush(self) -> None:
        self.writer.write(self.h2.data_to_send())

    async def pump(self, totals: Totals) -> None:
        while data := await self.reader.read(1 << 18):
            for event in self.h2.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    self.h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    for message in self.decoders[event.stream_id].feed(event.data):
                        document = _json_decoder.decode(_chunk_decoder.decode(message.payload).data)
                        name = next(iter(document["event"]))
                        totals.events += 1
                        self.on_event[event.stream_id].put_nowait((name, time.monotonic()))
                elif isinstance(event, h2.events.StreamReset):
                    totals.errors += 1
            # Start once the server's settings and window increase have arrived.
            if self.h2.outbound_flow_control_window > 1 << 20:
                self.ready.set()
            self.flush()

    def open(self, path: str) -> int:
        stream_id = self.h2.get_next_available_stream_id()
        headers = [
            (":method", "POST"), (":scheme", "https"), (":authority", "localhost"),
            (":path", path), ("content-type", "application/vnd.amazon.eventstream"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=load"),
        ]  # fmt: skip
        self.h2.send_headers(stream_id, headers)
        self.decoders[stream_id] = wire.FrameDecoder()
        self.on_event[stream_id] = asyncio.Queue()
        return stream_id

    def send(self, stream_id: int, data: bytes) -> None:
        if self.h2.local_flow_control_window(stream_id) < len(data):
            self.totals.blocked += 1  # the emulator is not keeping up; reported, not queued
            return
        self.h2.send_data(stream_id, data)
        self.flush()


async def session(
    conn: Connection, index: int, seconds: float, totals: Totals, chunk: int, signed: bool
) -> None:
    stream_id = conn.open(f"/model/{V2.replace(':', '%3A')}/invoke-with-bidirectional-stream")
    # One envelope per event, as the SDK signs them.
    opening = _opening(PROMPT)
    conn.send(stream_id, b"".join(_signed(f) if signed else f for f in opening))
    slot = index % 6
    program = _program(slot)
    size = chunk * 2
    # The turn ends once the default (MEDIUM) endpointing silence has been streamed.
    end_of_turn = round((0.1 + 0.6 + ENDPOINT_SECONDS["MEDIUM"]) * RATE) * 2
    start = time.monotonic()
    # Sessions start at different points of the program, as independent callers would.
    chunks = len(program) // size
    offset, sent_chunks = (index * 7 % chunks) * size, 0
    speech_ended_at: float | None = None
    events = conn.on_event[stream_id]
    while time.monotonic() - start < seconds:
        frame = _audio_frame(slot, offset, size, signed)
        ends_turn = offset < end_of_turn <= offset + size
        offset = (offset + size) % len(program)
        conn.send(stream_id, frame)
        if ends_turn:
            speech_ended_at = time.monotonic()
        sent_chunks += 1
        while not events.empty():
            name, at = events.get_nowait()
            if name == "audioOutput":
                totals.audio_chunks += 1
                if speech_ended_at is not None and at >= speech_ended_at:
                    totals.latencies.append(at - speech_ended_at)
                    speech_ended_at = None
        await asyncio.sleep(max(0.0, start + sent_chunks * chunk / RATE - time.monotonic()))


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(sessions: int, seconds: float, chunk_ms: float, signed: bool) -> None:
    chunk = round(RATE * chunk_ms / 1000)
    emulator = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "rtcore_sonic_emulator", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert emulator.stdout is not None
    endpoint = (await emulator.stdout.readline()).decode().split()[-1]
    ca_file = (await emulator.stdout.readline()).decode().split(maxsplit=2)[-1].strip()
    port = int(endpoint.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=ca_file)
    context.set_alpn_protocols(["h2"])
    totals = Totals()
    try:
        connections = []
        for _ in range((sessions + STREAMS_PER_CONNECTION - 1) // STREAMS_PER_CONNECTION):
            reader, writer = await asyncio.open_connection("localhost", port, ssl=context)
            connections.append(Connection(reader, writer))
            connections[-1].totals = totals
            connections[-1].flush()
        pumps = [asyncio.create_task(c.pump(totals)) for c in connections]
        for connection in connections:
            await asyncio.wait_for(connection.ready.wait(), 10)
        cpu_before, wall_before = _cpu_seconds(emulator.pid), time.monotonic()
        client_before = _cpu_seconds(os.getpid())
        await asyncio.gather(
            *(
                session(connections[i // STREAMS_PER_CONNECTION], i, seconds, totals, chunk, signed)
                for i in range(sessions)
            )
        )
        cpu = _cpu_seconds(emulator.pid) - cpu_before
        client_cpu = _cpu_seconds(os.getpid()) - client_before
        wall = time.monotonic() - wall_before
        for pump in pumps:
            pump.cancel()
    finally:
        emulator.terminate()
        await emulator.wait()
    lat = sorted(totals.latencies) or [float("nan")]
    input_rate = sessions * RATE / chunk
    print(
        f"sessions={sessions} chunk={1000 * chunk / RATE:.0f}ms signed={signed} "
        f"seconds={wall:.1f} emulator_cpu={100 * cpu / wall:.0f}% "
        f"emulator_cpu_per_input_event={1e6 * cpu / wall / input_rate:.0f}us "
        f"load_client_cpu={100 * client_cpu / wall:.0f}% "
        f"events_out/s={totals.events / wall:.0f} input_events/s={input_rate:.0f} "
        f"replies={len(totals.latencies)} "
        f"reply_after_endpoint_p50={statistics.median(lat) * 1000:.0f}ms "
        f"p95={lat[int(0.95 * (len(lat) - 1))] * 1000:.0f}ms resets={totals.errors} "
        f"blocked_sends={totals.blocked}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.capacity")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument(
        "--chunk-ms", type=float, default=64.0, help="audio per input event (default 64)"
    )
    parser.add_argument(
        "--signed", action="store_true", help="wrap input events in signature envelopes"
    )
    options = parser.parse_args()
    asyncio.run(main(options.sessions, options.seconds, options.chunk_ms, options.signed))
