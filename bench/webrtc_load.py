"""``python -m bench.webrtc_load KIND PORT N SECONDS OUT``: N clients of one kind talk to
``rtcore serve`` (the echo model) for SECONDS, in real time, and the figures go to OUT.

Each client speaks a 0.6 s tone, then 2.4 s of silence, again and again; the echo model
hears each tone as a turn and answers in voice. KIND ``websocket`` sends 20 ms
``input_audio_buffer.append`` events of 24 kHz PCM16 and reads the reply's audio deltas;
KIND ``webrtc`` sends 48 kHz Opus on its microphone track and receives the reply on the
call's track (events on the data channel). The same speech both ways.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import websockets
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from rtcore_webrtc.media import FRAME_BYTES, RATE, PacedAudioTrack

CYCLE_SECONDS = 3.0
TONE_SECONDS = 0.6


def speech(rate: int) -> bytes:
    """One cycle: the tone, then silence."""
    t = np.arange(int(rate * TONE_SECONDS)) / rate
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype("<i2").tobytes()
    return tone + bytes(int(rate * (CYCLE_SECONDS - TONE_SECONDS)) * 2)


class Counts:
    def __init__(self) -> None:
        self.turns = 0
        self.replies = 0
        self.errors = 0


async def websocket_client(port: int, seconds: float, counts: Counts) -> None:
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=echo"
    cycle = speech(24000)
    chunk = 960  # 20 ms at 24 kHz
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()

        async def read() -> None:
            async for message in ws:
                kind = json.loads(message)["type"]
                if kind == "response.done":
                    counts.replies += 1
                elif kind == "error":
                    counts.errors += 1

        reader = asyncio.create_task(read())
        began = time.monotonic()
        sent = 0
        while time.monotonic() - began < seconds:
            offset = (sent * chunk) % len(cycle)
            if offset == 0:
                counts.turns += 1
            piece = cycle[offset : offset + chunk]
            event = {"type": "input_audio_buffer.append", "audio": base64.b64encode(piece).decode()}
            await ws.send(json.dumps(event))
            sent += 1
            await asyncio.sleep(max(0.0, began + sent * 0.02 - time.monotonic()))
        reader.cancel()


class Microphone(PacedAudioTrack):
    """Speaks the cycle over and over, in real time."""

    def __init__(self, counts: Counts) -> None:
        super().__init__()
        self._cycle = speech(RATE)
        self._offset = 0
        self._counts = counts

    def next_frame(self) -> bytes:
        if self._offset == 0:
            self._counts.turns += 1
        chunk = self._cycle[self._offset : self._offset + FRAME_BYTES]
        self._offset = (self._offset + FRAME_BYTES) % len(self._cycle)
        return chunk


async def webrtc_client(port: int, seconds: float, counts: Counts) -> None:
    pc = RTCPeerConnection()
    pc.addTrack(Microphone(counts))
    channel = pc.createDataChannel("oai-events")

    @channel.on("message")
    def _message(message: str) -> None:
        kind = json.loads(message)["type"]
        if kind == "response.done":
            counts.replies += 1
        elif kind == "error":
            counts.errors += 1

    async def drain(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    draining: list[asyncio.Task[None]] = []
    pc.on("track", lambda track: draining.append(asyncio.ensure_future(drain(track))))
    await pc.setLocalDescription(await pc.createOffer())
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/v1/realtime/calls?model=echo",
            data=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        ) as answer,
    ):
        if answer.status != 201:
            raise SystemExit(f"call refused: {answer.status} {await answer.text()}")
        sdp = await answer.text()
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
    await asyncio.sleep(seconds)
    await pc.close()
    for task in draining:
        task.cancel()


async def main(kind: str, port: int, sessions: int, seconds: float, out: Path) -> None:
    if kind == "webrtc":
        from rtcore_webrtc.ice import gather_on

        gather_on("127.0.0.1")
    counts = Counts()
    client = websocket_client if kind == "websocket" else webrtc_client
    start = time.monotonic()
    await asyncio.gather(*(client(port, seconds, counts) for _ in range(sessions)))
    end = time.monotonic()
    result: dict[str, Any] = {
        "window": [start, end],
        "turns": counts.turns,
        "replies": counts.replies,
        "errors": counts.errors,
    }
    await asyncio.to_thread(out.write_text, json.dumps(result))


if __name__ == "__main__":
    kind_, port_, n_, seconds_, out_ = sys.argv[1:6]
    asyncio.run(main(kind_, int(port_), int(n_), float(seconds_), Path(out_)))
