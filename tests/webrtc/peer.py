"""A WebRTC client as a browser is one, on aiortc: a microphone track, the reply track
recorded, and the ``oai-events`` data channel; the offer posted to ``/v1/realtime/calls``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from rtcore_webrtc.media import FRAME_BYTES, RATE, PacedAudioTrack


def tone(seconds: float, hz: float = 440.0, amplitude: int = 8000) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (np.sin(2 * math.pi * hz * t) * amplitude).astype("<i2").tobytes()


class Microphone(PacedAudioTrack):
    """Says what it is given, in real time; silence otherwise."""

    def __init__(self) -> None:
        super().__init__()
        self._queue = bytearray()

    def say(self, pcm: bytes) -> None:
        self._queue += pcm

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    def next_frame(self) -> bytes:
        chunk = bytes(self._queue[:FRAME_BYTES])
        del self._queue[:FRAME_BYTES]
        return chunk


class Peer:
    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.mic = Microphone()
        self.pc.addTrack(self.mic)
        self.channel = self.pc.createDataChannel("oai-events")
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()
        self.heard = bytearray()  # the reply track, resampled to 48 kHz mono s16
        self._recording: asyncio.Task[None] | None = None
        self.location: str | None = None

        @self.channel.on("message")
        def _message(message: str) -> None:
            self.events.append(json.loads(message))
            self._arrived.set()

        @self.pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._recording = asyncio.ensure_future(self._record(track))

    async def _record(self, track: MediaStreamTrack) -> None:
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                for out in resampler.resample(frame):  # type: ignore[arg-type]
                    self.heard += bytes(out.planes[0])[: out.samples * 2]

    async def call(
        self,
        base: str,
        key: str,
        *,
        model: str | None = None,
        session: dict[str, Any] | None = None,
        multipart: bool = True,
        headers: dict[str, str] | None = None,
        rewrite: Callable[[str], str] | None = None,
    ) -> aiohttp.ClientResponse:
        """Offer, post, answer; returns the HTTP answer (for its status and headers).
        ``rewrite`` changes the offer's SDP before it is posted."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        offer = self.pc.localDescription.sdp
        if rewrite is not None:
            offer = rewrite(offer)
        url = f"{base}/v1/realtime/calls" + (f"?model={model}" if model else "")
        headers = {"Authorization": f"Bearer {key}", **(headers or {})}
        async with aiohttp.ClientSession() as http:
            if session is None:
                request = http.post(
                    url, data=offer, headers={**headers, "Content-Type": "application/sdp"}
                )
            else:
                form = aiohttp.FormData(default_to_multipart=multipart)
                form.add_field("sdp", offer)
                form.add_field("session", json.dumps(session))
                request = http.post(url, data=form, headers=headers)
            async with request as answer:
                body = await answer.text()
        if answer.status == 201:
            self.location = answer.headers["Location"]
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        else:
            self.refusal = json.loads(body)
        return answer

    async def send(self, event: dict[str, Any]) -> None:
        await self.opened()
        self.channel.send(json.dumps(event))

    async def opened(self, within: float = 10.0) -> None:
        if self.channel.readyState == "open":
            return
        ready = asyncio.Event()
        self.channel.on("open", ready.set)
        async with asyncio.timeout(within):
            await ready.wait()

    async def until(self, kind: str, within: float = 20.0, after: int = 0) -> dict[str, Any]:
        """The first event of ``kind`` at or after index ``after``."""
        try:
            async with asyncio.timeout(within):
                while True:
                    for event in self.events[after:]:
                        if event["type"] == kind:
                            return event
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            raise AssertionError(f"no {kind} in {within} s; events: {self.kinds()}") from None

    def kinds(self) -> list[str]:
        return [e["type"] for e in self.events]

    def loudness(self, start: int = 0) -> float:
        """RMS of what the reply track carried from byte ``start`` on."""
        samples = np.frombuffer(bytes(self.heard[start:]), dtype="<i2").astype(np.float64)
        return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0

    async def close(self) -> None:
        await self.pc.close()
        if self._recording is not None:
            self._recording.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recording
