"""The emulator the benchmark runs, in a process of its own, with a marker-reading probe.

``python -m bench.emulator [--provider nova|gemini|openai]`` prints one JSON line (endpoint,
CA file, pid), then serves until stdin closes: the Nova Sonic emulator, the Gemini Live
emulator (its endpoint the SDK's ``base_url``), or the OpenAI Realtime emulator (its
endpoint the SDK's ``websocket_base_url``, plain ``ws://`` on loopback), scripted alike.
``--fault SPEC`` (OpenAI only, repeatable) gives every connection that fault.
``dump PATH`` on stdin writes what the probe recorded since the last dump to PATH (JSON)
and answers ``ok``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench import speech as sig
from rtcore import loops


class MarkerProbe:
    """Reads the chunk markers of incoming audio; logs outgoing audio per stream.

    Incoming chunks are looked for where they must start: every ``CHUNK_BYTES`` of the
    stream's audio timeline, however a gateway grouped them into events. ``rate``: the
    sample rate of the audio it reads (the chunks are 20 ms at that rate).
    """

    def __init__(self, rate: int = sig.RATE) -> None:
        self._chunk_bytes = sig.chunk_bytes(rate)
        self.reset()

    def reset(self) -> None:
        self._offset: dict[int, int] = defaultdict(int)
        self._events: dict[int, int] = defaultdict(int)
        self._session: dict[int, int] = {}
        # (session, seq, at_ns, stream, event number, chunks in that event)
        self.received: list[tuple[int, int, int, int, int, int]] = []
        self.unmarked = 0
        # stream -> [(cumulative bytes sent, at_ns)]
        self.sent: dict[int, list[tuple[int, int]]] = defaultdict(list)
        self._sent_bytes: dict[int, int] = defaultdict(int)

    def audio_in(self, stream: int, pcm: bytes, at_ns: int) -> None:
        offset = self._offset[stream]
        self._offset[stream] = offset + len(pcm)
        event = self._events[stream]
        self._events[stream] = event + 1
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")
        first = (-offset) % self._chunk_bytes // 2
        starts = range(first, samples.size - sig.MARK_SAMPLES + 1, self._chunk_bytes // 2)
        found: list[tuple[int, int]] = []
        for start in starts:
            marker = sig.read_marker(samples[start : start + sig.MARK_SAMPLES])
            if marker is None:
                self.unmarked += 1
            else:
                found.append(marker)
        for session, seq in found:
            self._session[stream] = session
            self.received.append((session, seq, at_ns, stream, event, len(found)))

    def audio_out(self, stream: int, size: int, at_ns: int) -> None:
        total = self._sent_bytes[stream] + size
        self._sent_bytes[stream] = total
        self.sent[stream].append((total, at_ns))

    def dump(self) -> dict[str, Any]:
        sent: dict[str, list[tuple[int, int]]] = {}
        for stream, rows in self.sent.items():
            session = self._session.get(stream)
            if session is not None:
                sent[f"{session}:{stream}"] = rows
        data = {"received": self.received, "sent": sent, "unmarked": self.unmarked}
        self.reset()
        return data


def _nova(args: argparse.Namespace, probe: MarkerProbe | None) -> Any:
    from rtcore_sonic_emulator import NovaSonicEmulator, Script

    script = Script().say(sig.TONE_SLOT, sig.TRANSCRIPT, reply=sig.REPLY)
    return NovaSonicEmulator(
        "127.0.0.1",
        0,
        cert_dir=args.cert_dir,
        endpoint_seconds=sig.ENDPOINT_SECONDS,
        script=script,
        probe=probe,
    )


def _gemini(args: argparse.Namespace, probe: MarkerProbe | None) -> Any:
    """Gemini Live: the end-of-turn silence (``sig.ENDPOINT_SECONDS``) is each session's
    own ``silenceDurationMs``, as Gemini takes it, not a server setting."""
    from rtcore_gemini_emulator import GeminiLiveEmulator, Script

    script = Script().say(sig.TONE_SLOT, sig.TRANSCRIPT, reply=sig.REPLY)
    return GeminiLiveEmulator("127.0.0.1", 0, cert_dir=args.cert_dir, script=script, probe=probe)


def _openai(args: argparse.Namespace, probe: MarkerProbe | None) -> Any:
    """OpenAI Realtime: plain ``ws://`` on loopback (the provider takes no CA of its own);
    the end-of-turn silence is each session's ``silence_duration_ms``, as with Gemini."""
    from rtcore_openai_emulator import OpenAIRealtimeEmulator, Script

    script = Script().say(sig.TONE_SLOT, sig.TRANSCRIPT, reply=sig.REPLY)
    return OpenAIRealtimeEmulator(
        "127.0.0.1", 0, script=script, probe=probe, faults=args.fault or ()
    )


_EMULATORS = {"nova": _nova, "gemini": _gemini, "openai": _openai}


def _endpoint(emulator: Any, provider: str) -> str:
    """Nova's is the Bedrock endpoint URL; Gemini's the SDK's base_url; OpenAI's the SDK's
    websocket_base_url (which rtcore's api_base takes too)."""
    if provider == "gemini":
        return str(emulator.base_url)
    if provider == "openai":
        return str(emulator.ws_base_url) + "/v1"
    return str(emulator.endpoint)


async def main(args: argparse.Namespace) -> None:
    probe = MarkerProbe(sig.rate_of(args.provider))
    make = _EMULATORS[args.provider]
    emulator = make(args, None if args.no_probe else probe)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with emulator:
        # As rtcore serve does after start-up: full collections stop scanning the imports.
        gc.collect()
        gc.freeze()
        line = {
            "endpoint": _endpoint(emulator, args.provider),
            "ca_file": "" if emulator.ca_file is None else str(emulator.ca_file),
            "pid": os.getpid(),
            "provider": args.provider,
        }
        print(json.dumps(line), flush=True)
        while command := (await reader.readline()).decode().strip():
            verb, _, rest = command.partition(" ")
            if verb == "dump":
                await asyncio.to_thread(Path(rest).write_text, json.dumps(probe.dump()))
                print(json.dumps({"ok": True, "active": emulator.stats.active}), flush=True)
            elif verb == "stats":
                print(json.dumps({"ok": True, "active": emulator.stats.active}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.emulator")
    parser.add_argument("--cert-dir", default=None)
    parser.add_argument("--no-probe", action="store_true")
    parser.add_argument("--provider", choices=tuple(_EMULATORS), default="nova")
    parser.add_argument("--loop", choices=loops.LOOPS, default="auto")
    parser.add_argument(
        "--fault",
        action="append",
        help="a fault every connection suffers (the OpenAI emulator's spec, e.g. close=4000@2)",
    )
    options = parser.parse_args()
    loops.run(main(options), options.loop)
