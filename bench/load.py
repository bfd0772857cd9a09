"""The load generator: N concurrent sessions against one target, in a process of its own.

``python -m bench.load SPEC.json`` runs the sessions the spec describes and writes what
each one saw (when every chunk was sent, when audio came back) to ``spec["out"]``. Every
session streams the same cycle of marked 16 kHz audio in real time, 20 ms a chunk; sessions
start spread over one chunk period and at different points of the cycle, so the replies
(and the load) are spread evenly over time.

Two kinds of session: ``direct`` speaks to the emulator with the provider's own SDK, no
gateway (Nova Sonic's events with ``aws_sdk_bedrock_runtime``, Gemini Live with
``google-genai``, or the OpenAI Realtime API with ``openai``: ``spec["provider"]``), ``ws``
speaks the OpenAI Realtime API to a gateway. OpenAI's sessions speak 24 kHz, the others 16.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import json
import ssl
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from bench import speech as sig
from rtcore import loops

_NS = 1_000_000_000


@dataclass
class Record:
    session: int
    phase: int
    offset: float = 0.0  # sessions start spread over one chunk period
    sends: list[int] = field(default_factory=list)  # t_ns of chunk seq
    late_ms: float = 0.0  # worst lateness of a send against the schedule
    deltas: list[tuple[int, int]] = field(default_factory=list)  # (cumulative bytes, t_ns)
    errors: list[str] = field(default_factory=list)
    connected: bool = False
    primed: int = 0  # unmarked silent chunks sent before the window


class _Delta(msgspec.Struct):
    type: str
    delta: str = ""
    error: dict[str, Any] | None = None


_delta = msgspec.json.Decoder(_Delta)
PRIMER_CHUNKS = 5
# From the last session ready to the window: a direct session's stream is open by then; a
# gateway's may still be opening the upstream streams the primer asked for.
SETTLE_SECONDS = {"direct": 0.5, "ws": 1.5}


def _b64_size(text: str | bytes) -> int:
    size = len(text) * 3 // 4
    if text[-2:] in ("==", b"=="):
        return size - 2
    if text[-1:] in ("=", b"="):
        return size - 1
    return size


async def _pace(
    record: Record,
    cycle: sig.Cycle,
    t0: float,
    stop: float,
    send: Any,
    chunk: Any = sig.chunk_b64,
) -> None:
    """Send chunk after chunk on schedule until ``stop`` (event-loop time); ``chunk`` makes
    each (base64 by default, PCM for an SDK that encodes for itself)."""
    loop = asyncio.get_running_loop()
    period = sig.CHUNK_MS / 1000
    seq = 0
    t0 += record.offset
    while True:
        due = t0 + seq * period
        if due >= stop:
            return
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            record.late_ms = max(record.late_ms, -delay * 1000)
        data = chunk(cycle, record.session, seq, record.phase)
        record.sends.append(time.monotonic_ns())
        await send(data)
        seq += 1


# -- over WebSocket, to a gateway -------------------------------------------------------------


async def ws_session(
    spec: dict[str, Any], record: Record, cycle: sig.Cycle, ready: asyncio.Event, start: Any
) -> None:
    import aiohttp

    headers = spec.get("headers") or {}
    timeout = aiohttp.ClientWSTimeout(ws_close=5.0)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(
            spec["url"], headers=headers, max_msg_size=0, compress=0, timeout=timeout
        ) as ws,
    ):
        session: dict[str, Any] = {
            "modalities": ["audio", "text"],
            "instructions": "You are a helpful assistant.",
            "voice": "matthew",
            "input_audio_format": "pcm16",
            "output_audio_format": "pcm16",
            "turn_detection": {"type": "server_vad"},
        }
        if spec.get("provider") == "openai":
            # An OpenAI voice; its 24 kHz (the format's own, so nothing is converted on the
            # way); the end-of-turn silence as the direct sessions ask for it.
            session["voice"] = "alloy"
            session["turn_detection"] = {
                "type": "server_vad",
                "silence_duration_ms": round(sig.ENDPOINT_SECONDS * 1000),
            }
        elif spec.get("provider") == "gemini":
            # A Gemini voice; and the end-of-turn silence as the direct sessions ask for it
            # (Gemini takes it per session; the Nova emulator has it as a server setting).
            session["voice"] = "Puck"
            session["turn_detection"] = {
                "type": "server_vad",
                "silence_duration_ms": round(sig.ENDPOINT_SECONDS * 1000),
            }
        if spec.get("ga"):
            session = _ga_session(session, cycle.rate, spec.get("mcp_url"))
        update = {"type": "session.update", "session": session}
        await ws.send_str(json.dumps(update))
        listed = asyncio.Event()

        async def read() -> None:
            cumulative = 0
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                at = time.monotonic_ns()
                event = _delta.decode(message.data)
                if event.type in ("response.audio.delta", "response.output_audio.delta"):
                    cumulative += _b64_size(event.delta)
                    record.deltas.append((cumulative, at))
                elif event.type == "error":
                    record.errors.append(json.dumps(event.error)[:300])
                elif event.type == "mcp_list_tools.completed":
                    listed.set()

        reader = asyncio.create_task(read())
        try:
            if spec.get("mcp_url"):
                # The session's MCP tools are listed (and offered to the model) before any
                # audio, as a client that configures its tools first has them: the upstream
                # stream opens with them, and the window measures the audio path with them
                # attached.
                try:
                    async with asyncio.timeout(60):
                        await listed.wait()
                except TimeoutError:
                    record.errors.append("the MCP server's tools were not listed within 60 s")
            # A gateway may open its upstream stream only once audio arrives; a few silent
            # chunks before the window open it there, as the direct sessions open theirs
            # before the window, so neither target's figures include opening a stream.
            # Whole chunks at the session's rate: the probe reads markers on that timeline.
            primer = base64.b64encode(bytes(sig.chunk_bytes(cycle.rate))).decode()
            silence = json.dumps({"type": "input_audio_buffer.append", "audio": primer})
            for _ in range(PRIMER_CHUNKS):
                await ws.send_str(silence)
                record.primed += 1
            record.connected = True
            ready.set()
            t0, stop = await start
            prefix = '{"type":"input_audio_buffer.append","audio":"'

            async def send(data: bytes) -> None:
                await ws.send_str(prefix + data.decode() + '"}')

            await _pace(record, cycle, t0, stop, send)
            await asyncio.sleep(spec.get("linger", 1.5))
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


def _ga_session(beta: dict[str, Any], rate: int, mcp_url: str | None) -> dict[str, Any]:
    """The same session in the GA shape (MCP tools are GA's): the same voice, turn
    detection and audio, with an MCP server among its tools when ``mcp_url`` names one."""
    tools = []
    if mcp_url:
        tools.append(
            {
                "type": "mcp",
                "server_label": "bench",
                "server_url": mcp_url,
                "require_approval": "never",
            }
        )
    return {
        "type": "realtime",
        "output_modalities": ["audio"],
        "instructions": beta["instructions"],
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": rate},
                "turn_detection": beta["turn_detection"],
            },
            "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": beta["voice"]},
        },
        "tools": tools,
    }


# -- straight to the emulator with the AWS SDK -------------------------------------------------


def _event(name: str, body: dict[str, Any]) -> bytes:
    return json.dumps({"event": {name: body}}).encode()


def _opening(prompt: str, system: str, audio: str) -> list[bytes]:
    lpcm = {
        "mediaType": "audio/lpcm",
        "sampleSizeBits": 16,
        "channelCount": 1,
        "encoding": "base64",
        "audioType": "SPEECH",
    }
    inference = {"maxTokens": 1024, "topP": 0.9, "temperature": 0.7}
    return [
        _event("sessionStart", {"inferenceConfiguration": inference}),
        _event(
            "promptStart",
            {
                "promptName": prompt,
                "textOutputConfiguration": {"mediaType": "text/plain"},
                "audioOutputConfiguration": {
                    **lpcm,
                    "sampleRateHertz": sig.OUTPUT_RATE,
                    "voiceId": "matthew",
                },
            },
        ),
        _event(
            "contentStart",
            {
                "promptName": prompt,
                "contentName": system,
                "type": "TEXT",
                "interactive": False,
                "role": "SYSTEM",
                "textInputConfiguration": {"mediaType": "text/plain"},
            },
        ),
        _event(
            "textInput",
            {"promptName": prompt, "contentName": system, "content": "You are helpful."},
        ),
        _event("contentEnd", {"promptName": prompt, "contentName": system}),
        _event(
            "contentStart",
            {
                "promptName": prompt,
                "contentName": audio,
                "type": "AUDIO",
                "interactive": True,
                "role": "USER",
                "audioInputConfiguration": {**lpcm, "sampleRateHertz": sig.RATE},
            },
        ),
    ]


class _Audio(msgspec.Struct):
    content: str = ""


class _OutEvent(msgspec.Struct):
    audioOutput: _Audio | None = None


class _Out(msgspec.Struct):
    event: _OutEvent = msgspec.field(default_factory=_OutEvent)


_out = msgspec.json.Decoder(_Out)


async def direct_session(
    spec: dict[str, Any],
    record: Record,
    cycle: sig.Cycle,
    ready: asyncio.Event,
    start: Any,
    client: Any,
) -> None:
    from aws_sdk_bedrock_runtime.models import (
        BidirectionalInputPayloadPart,
        InvokeModelWithBidirectionalStreamInputChunk,
        InvokeModelWithBidirectionalStreamOperationInput,
    )

    def chunk(data: bytes) -> Any:
        return InvokeModelWithBidirectionalStreamInputChunk(
            value=BidirectionalInputPayloadPart(bytes_=data)
        )

    prompt, audio = str(uuid.uuid4()), str(uuid.uuid4())
    async with asyncio.timeout(15):
        stream = await client.invoke_model_with_bidirectional_stream(
            InvokeModelWithBidirectionalStreamOperationInput(model_id=spec["model_id"])
        )
        for data in _opening(prompt, str(uuid.uuid4()), audio):
            await stream.input_stream.send(chunk(data))
        _, output = await stream.await_output()
    record.connected = True

    async def read() -> None:
        cumulative = 0
        while (event := await output.receive()) is not None:
            at = time.monotonic_ns()
            data = event.value.bytes_
            if b'"audioOutput"' in data:
                content = _out.decode(data).event.audioOutput
                if content is not None and content.content:
                    cumulative += _b64_size(content.content)
                    record.deltas.append((cumulative, at))

    reader = asyncio.create_task(read())
    try:
        ready.set()
        t0, stop = await start
        head = b'{"event":{"audioInput":{"promptName":"%s","contentName":"%s","content":"' % (
            prompt.encode(),
            audio.encode(),
        )

        async def send(data: bytes) -> None:
            await stream.input_stream.send(chunk(head + data + b'"}}}'))

        batch = int(spec.get("batch_chunks", 1))
        if batch > 1:
            # The coalescing floor: the SDK used as rtcore uses it, ``batch`` chunks of PCM
            # to one audioInput event (a chunk waits for the batch to fill).
            held: list[bytes] = []

            async def send_batched(data: bytes) -> None:
                held.append(data)
                if len(held) >= batch:
                    pcm = b"".join(held)
                    held.clear()
                    await send(base64.b64encode(pcm))

            await _pace(record, cycle, t0, stop, send_batched, sig.chunk_pcm)
        else:
            await _pace(record, cycle, t0, stop, send)
        await asyncio.sleep(spec.get("linger", 1.5))
        for data in (
            _event("contentEnd", {"promptName": prompt, "contentName": audio}),
            _event("promptEnd", {"promptName": prompt}),
            _event("sessionEnd", {}),
        ):
            await stream.input_stream.send(chunk(data))
        async with asyncio.timeout(5):
            await stream.input_stream.close()
            await reader
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


# -- straight to the emulator with google-genai ------------------------------------------------


def gemini_client(spec: dict[str, Any]) -> Any:
    """One SDK client for every session, trusting the emulator's CA (this client only)."""
    from google import genai

    context = ssl.create_default_context(cafile=spec["ca_file"])
    return genai.Client(
        api_key=spec["api_key"],
        http_options={"base_url": spec["endpoint"], "async_client_args": {"ssl": context}},
    )


async def gemini_direct_session(
    spec: dict[str, Any],
    record: Record,
    cycle: sig.Cycle,
    ready: asyncio.Event,
    start: Any,
    client: Any,
) -> None:
    """A Gemini Live session as a developer writes it with google-genai: ``connect``,
    ``send_realtime_input(audio=Blob)`` per chunk, ``receive()`` turn after turn."""
    from google.genai import types

    config = types.LiveConnectConfig(
        response_modalities=[types.Modality.AUDIO],
        system_instruction="You are helpful.",
        realtime_input_config=types.RealtimeInputConfig(
            automatic_activity_detection=types.AutomaticActivityDetection(
                silence_duration_ms=round(sig.ENDPOINT_SECONDS * 1000)
            )
        ),
    )
    mime = f"audio/pcm;rate={sig.RATE}"
    async with contextlib.AsyncExitStack() as stack:
        async with asyncio.timeout(15):
            session = await stack.enter_async_context(
                client.aio.live.connect(model=spec["model_id"], config=config)
            )
        record.connected = True

        async def read() -> None:
            cumulative = 0
            while True:  # receive() ends with each turn
                async for message in session.receive():
                    at = time.monotonic_ns()
                    content = message.server_content
                    if content is None or content.model_turn is None:
                        continue
                    for part in content.model_turn.parts or ():
                        if part.inline_data is not None and part.inline_data.data:
                            cumulative += len(part.inline_data.data)
                            record.deltas.append((cumulative, at))

        reader = asyncio.create_task(read())
        try:
            ready.set()
            t0, stop = await start

            async def send(data: bytes) -> None:
                await session.send_realtime_input(audio=types.Blob(data=data, mime_type=mime))

            await _pace(record, cycle, t0, stop, send, sig.chunk_pcm)
            await asyncio.sleep(spec.get("linger", 1.5))
            if reader.done() and (failure := reader.exception()) is not None:
                # The connection ended under the session: a figure of the run.
                record.errors.append(f"{type(failure).__name__}: {failure}"[:300])
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


# -- straight to the emulator with openai ------------------------------------------------------


def openai_client(spec: dict[str, Any]) -> Any:
    """One SDK client for every session (each ``connect`` is a WebSocket of its own)."""
    from openai import AsyncOpenAI

    return AsyncOpenAI(api_key=spec["api_key"], websocket_base_url=spec["endpoint"])


async def openai_direct_session(
    spec: dict[str, Any],
    record: Record,
    cycle: sig.Cycle,
    ready: asyncio.Event,
    start: Any,
    client: Any,
) -> None:
    """An OpenAI Realtime session as a developer writes it with openai:
    ``realtime.connect``, ``session.update``, ``input_audio_buffer.append`` per chunk, and
    the connection's events read as they come."""
    pcm = {"type": "audio/pcm", "rate": cycle.rate}
    session = {
        "type": "realtime",
        "output_modalities": ["audio"],
        "instructions": "You are helpful.",
        "audio": {
            "input": {
                "format": pcm,
                "turn_detection": {
                    "type": "server_vad",
                    "silence_duration_ms": round(sig.ENDPOINT_SECONDS * 1000),
                },
            },
            "output": {"format": pcm, "voice": "alloy"},
        },
    }
    async with contextlib.AsyncExitStack() as stack:
        async with asyncio.timeout(15):
            connection = await stack.enter_async_context(
                client.realtime.connect(model=spec["model_id"])
            )
            await connection.session.update(session=session)
        record.connected = True

        async def read() -> None:
            cumulative = 0
            async for event in connection:
                at = time.monotonic_ns()
                if event.type == "response.output_audio.delta":
                    cumulative += _b64_size(event.delta)
                    record.deltas.append((cumulative, at))
                elif event.type == "error":
                    record.errors.append(event.error.model_dump_json()[:300])

        reader = asyncio.create_task(read())
        try:
            ready.set()
            t0, stop = await start

            async def send(data: bytes) -> None:
                await connection.input_audio_buffer.append(audio=data.decode())

            await _pace(record, cycle, t0, stop, send)
            await asyncio.sleep(spec.get("linger", 1.5))
            if reader.done() and (failure := reader.exception()) is not None:
                # The connection ended under the session: a figure of the run.
                record.errors.append(f"{type(failure).__name__}: {failure}"[:300])
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader


# -- the run -----------------------------------------------------------------------------------


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    cycle = sig.build_cycle(rate=sig.rate_of(spec.get("provider", "nova")))
    count = int(spec["sessions"])
    loop = asyncio.get_running_loop()
    period = sig.CHUNK_MS / 1000
    records = [
        Record(session=i, phase=i * cycle.chunks // count, offset=i * period / count)
        for i in range(count)
    ]
    start: asyncio.Future[tuple[float, float]] = loop.create_future()
    client: Any = None
    provider = spec.get("provider", "nova")
    direct = {"gemini": gemini_direct_session, "openai": openai_direct_session}
    if spec["kind"] == "direct" and provider == "gemini":
        client = gemini_client(spec)
    elif spec["kind"] == "direct" and provider == "openai":
        client = openai_client(spec)
    elif spec["kind"] == "direct" and not spec.get("client_per_session"):
        from rtcore_sonic_emulator import make_client

        client = await make_client(spec["endpoint"], spec["ca_file"])

    async def one(record: Record, ready: asyncio.Event) -> None:
        try:
            if spec["kind"] == "direct" and provider in direct:
                await direct[provider](spec, record, cycle, ready, start, client)
            elif spec["kind"] == "direct":
                own = client
                if own is None:
                    # A client (and so a connection) of the session's own, as a gateway has.
                    from rtcore_sonic_emulator import make_client

                    own = await make_client(spec["endpoint"], spec["ca_file"])
                await direct_session(spec, record, cycle, ready, start, own)
            else:
                await ws_session(spec, record, cycle, ready, start)
        except Exception as exc:  # every failure is a figure of the run, not a crash
            record.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            ready.set()

    readies = [asyncio.Event() for _ in records]
    tasks: list[asyncio.Task[None]] = []
    # The first session opens alone: a cold SDK client opens one connection per stream
    # that starts before its first connection is up.
    tasks.append(asyncio.create_task(one(records[0], readies[0])))
    await readies[0].wait()
    for record, ready in zip(records[1:], readies[1:], strict=True):
        tasks.append(asyncio.create_task(one(record, ready)))
        await asyncio.sleep(float(spec.get("connect_interval", 0.005)))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(60):
            for ready in readies:
                await ready.wait()
    if spec.get("await_go"):
        # The harness opens the window once every session's upstream is up.
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    # The load generator is apparatus: a full collection of its own must not show up as a
    # target's late chunk. What exists now is frozen; what the window adds is little.
    gc.collect()
    gc.freeze()
    cpu0, wall0 = time.process_time(), time.monotonic_ns()
    t0 = loop.time() + SETTLE_SECONDS[spec["kind"]]
    stop = t0 + float(spec["seconds"])
    start.set_result((t0, stop))
    await asyncio.gather(*tasks)
    cpu1, wall1 = time.process_time(), time.monotonic_ns()
    return {
        "kind": spec["kind"],
        "sessions": [
            {
                "session": r.session,
                "phase": r.phase,
                "sends": r.sends,
                "late_ms": r.late_ms,
                "deltas": r.deltas,
                "errors": r.errors,
                "connected": r.connected,
                "primed": r.primed,
            }
            for r in records
        ],
        "cycle": {"chunks": cycle.chunks, "trigger": cycle.trigger},
        "window": [t0, stop],
        "load_cpu_seconds": cpu1 - cpu0,
        "load_wall_seconds": (wall1 - wall0) / _NS,
    }


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    result = loops.run(run(spec), spec.get("loop", "auto"))
    Path(spec["out"]).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
