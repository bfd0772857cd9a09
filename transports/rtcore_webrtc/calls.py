"""One WebRTC call: a peer connection in front of one session.

The peer's microphone arrives as Opus over RTP, the reply leaves the same way, and the
JSON events travel on the ``oai-events`` data channel the client opens, as on OpenAI's
WebRTC endpoint. The session is the core's, exactly as over a WebSocket, but with its
audio out of band: no audio deltas on the channel, ``output_audio_buffer.*`` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdatachannel import RTCDataChannel
from aiortc.rtcdtlstransport import RTCDtlsTransport

from rtcore.connection import Connection
from rtcore.dialect import Dialect
from rtcore.gateway import Gateway
from rtcore.keys.store import Admission
from rtcore.provider import ModelConfig
from rtcore_webrtc.media import MicrophoneReader, ReplyTrack

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "oai-events"
# A client that never opens its events channel (or never connects at all) is let go.
CONNECT_TIMEOUT_SECONDS = 20.0
# Events held for a session still opening: far more than a client's setup, a bound on what
# a peer can make the call keep meanwhile.
EARLY_EVENTS_LIMIT = 256


class Call:
    def __init__(
        self,
        gateway: Gateway,
        model: ModelConfig,
        *,
        admission: Admission | None,
        dialect: Dialect | None,
        peer: str | None,
        initial: str | None,
        on_end: Callable[[Call], None],
    ) -> None:
        self.id = f"rtc_{secrets.token_hex(12)}"
        self.gateway = gateway
        self.model = model
        self._admission = admission
        # Whose call it is: the key that opened it (None: the master key's).
        self.owner = admission.key_hash if admission is not None else None
        self._dialect = dialect
        self._peer = peer
        # The ``session`` part of the offer, applied as the session's first update.
        self._initial = initial
        self._on_end = on_end
        self.pc = RTCPeerConnection()
        self.reply = ReplyTrack(self._stopped)
        self.connection: Connection | None = None
        # Events the client sent on the channel before its session was up.
        self._early: list[str | bytes] = []
        self._channel: RTCDataChannel | None = None
        self._channel_open = asyncio.Event()
        self._mic: MediaStreamTrack | None = None
        self._mic_arrived = asyncio.Event()
        self._ended = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The session's work the channel and the reply track start (held: the loop keeps
        # only weak references to tasks).
        self._chores: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()

    async def answer(self, offer: str) -> str:
        """Take the peer's offer and return the answer; the session starts meanwhile."""
        pc = self.pc

        @pc.on("datachannel")
        def _channel(channel: RTCDataChannel) -> None:
            if channel.label != EVENTS_CHANNEL:
                log.info("call %s: ignoring data channel %r", self.id, channel.label)
                return
            self._channel = channel
            if channel.readyState == "open":
                self._channel_open.set()
            channel.on("open", self._channel_open.set)

            @channel.on("message")
            def _message(message: str | bytes) -> None:
                if self.connection is not None:
                    self._chore(self.connection.receive(message))
                elif len(self._early) < EARLY_EVENTS_LIMIT:
                    # Clients speak as soon as the channel opens (@openai/agents-realtime
                    # sends its session.update then), which may be before the session is
                    # up (an upstream slow to connect): kept for it, in order.
                    self._early.append(message)
                else:
                    log.warning("call %s: too many events before the session began", self.id)

        @pc.on("track")
        def _track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                self._mic = track
                self._mic_arrived.set()

        @pc.on("connectionstatechange")
        async def _state() -> None:
            if pc.connectionState in ("failed", "closed"):
                self._ended.set()

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        # The reply goes out on the transceiver the offer made for audio.
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio":
                transceiver.sender.replaceTrack(self.reply)
                transceiver.direction = "sendrecv"
                break
        else:
            pc.addTrack(self.reply)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        self._task = asyncio.create_task(self._run(), name=f"call-{self.id}")
        return pc.localDescription.sdp

    @property
    def hung_up(self) -> bool:
        """Ended on a client's request (the call may still be closing)."""
        return self._ended.is_set()

    def hang_up(self) -> None:
        self._ended.set()

    async def aclose(self) -> None:
        self._ended.set()
        if self._task is None:  # never answered: nothing runs, but the offer was taken
            await self._release()
            return
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    # -- the session ---------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            async with self.gateway.connect(
                self.model,
                dialect=self._dialect,
                admission=self._admission,
                peer=self._peer,
                media=self.reply,
            ) as connection:
                with self.gateway.attachable(self.id, connection, self.owner):
                    if self._initial is not None:
                        await connection.receive(self._initial)
                    while self._early:
                        await connection.receive(self._early.pop(0))
                    # From here on the channel's events go straight to the session.
                    self.connection = connection
                    try:
                        async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                            await self._channel_open.wait()
                    except TimeoutError:
                        log.info("call %s: the events channel never opened; ending it", self.id)
                        return
                    async with asyncio.TaskGroup() as group:
                        sender = group.create_task(self._send(connection))
                        listener = group.create_task(self._listen(connection))
                        ended = group.create_task(self._ended.wait())
                        # Whichever ends first ends the call: the session, or the peer.
                        for task in (sender, ended):
                            task.add_done_callback(lambda _: (listener.cancel(), ended.cancel()))
                        ended.add_done_callback(lambda _: sender.cancel())
        finally:
            try:
                await self._release()
            finally:
                self._on_end(self)  # the call's slot is free whatever happened

    async def _release(self) -> None:
        """Close the peer connection (its sockets, DTLS, SCTP, the decoder thread), then let
        go of everything that points back at this call, so that what the call held is freed
        as soon as its last reference goes, not whenever the cyclic collector runs."""
        for chore in self._chores:
            chore.cancel()
        try:
            await self.pc.close()
        except Exception:
            log.exception("call %s: closing the peer connection failed", self.id)
        unhook(self.pc)
        if self._channel is not None:
            self._channel.remove_all_listeners()
        self.reply.stop()
        self.reply.detach()
        self.connection = None
        self._channel = None
        self._mic = None

    async def _send(self, connection: Connection) -> None:
        async for data in connection.outgoing():
            channel = self._channel
            if channel is None or channel.readyState != "open":
                return
            channel.send(data.decode())

    async def _listen(self, connection: Connection) -> None:
        await self._mic_arrived.wait()
        assert self._mic is not None
        mic, reader = self._mic, MicrophoneReader()
        while True:
            try:
                frame = await mic.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            pcm = reader.pcm(frame)
            if pcm:
                await connection.append_audio(pcm)

    def _stopped(self, response_id: str) -> None:
        if self.connection is not None:
            self._chore(self.connection.playback_stopped(response_id))

    def _chore(self, work: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(work)
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)


class _Emitter(Protocol):
    def remove_all_listeners(self, event: str | None = None) -> None: ...


def unhook(pc: RTCPeerConnection) -> None:
    """Drop the listeners of a closed peer connection and of its transports.

    aiortc's ICE, DTLS and SCTP transports keep the peer connection's own handlers, which
    refer back to it: cycles that refcounting alone cannot free. Once closed, nothing is
    emitted any more (aiortc's ``close`` drops the connection's own listeners for the same
    reason, not its transports')."""
    emitters: list[_Emitter] = [pc]
    dtls: list[RTCDtlsTransport] = []
    for transceiver in pc.getTransceivers():
        dtls += [transceiver.sender.transport, transceiver.receiver.transport]
    if pc.sctp is not None:
        emitters.append(pc.sctp)
        dtls.append(pc.sctp.transport)
    for transport in dtls:
        if transport is not None:
            emitters += [transport, transport.transport, transport.transport.iceGatherer]
    for emitter in emitters:
        emitter.remove_all_listeners()
