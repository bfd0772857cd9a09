"""One ``InvokeModelWithBidirectionalStream`` call: open checks, the input loop, faults, limits."""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

from . import faults, sigv4, wire
from .errors import MODEL_TIMEOUT, BedrockError
from .h2server import H2Stream, StreamClosed
from .model import Conversation, Received
from .output import Emitter
from .probe import AudioProbe
from .script import Script
from .validation import RETIRED, Validator, resolve_model

_PATH = re.compile(r"^/model/([^/]+)/invoke-with-bidirectional-stream/?$")
FAULT_HEADER = "x-rtcore-emulator-faults"


@dataclass
class Settings:
    realtime_factor: float
    connection_limit: float
    endpoint_seconds: float | None
    script: Script
    faults: faults.FaultQueue
    probe: AudioProbe | None = None
    # Serve retired models as they were (for tests of the legacy path); else a retired
    # model's stream ends without an event, as Bedrock's does now.
    legacy_models: bool = False
    # Model ids beyond the known ones, and the known model each behaves like.
    aliases: dict[str, str] = field(default_factory=dict)
    # Credentials issued (by a test's stand-in STS, IMDS...): when any are, every stream's
    # signature is checked against them.
    issued: dict[str, sigv4.Issued] = field(default_factory=dict)


@dataclass
class Stats:
    active: int = 0
    opened: int = 0
    responses: int = 0
    connections: int = 0  # TLS connections accepted (each carries any number of streams)
    connections_closed: int = 0  # of those, the ones since closed (by either side)
    errors: dict[str, int] = field(default_factory=dict)
    # What each stream was sent, newest last (the oldest dropped past MAX_RECORDED).
    streams: list[Received] = field(default_factory=list)
    # The access key each stream request was signed with, in order.
    signed_by: list[str] = field(default_factory=list)

    def record(self, received: Received) -> None:
        self.streams.append(received)
        del self.streams[:-MAX_RECORDED]


MAX_RECORDED = 1000


class _Reset(Exception):
    pass


async def handle(stream: H2Stream, settings: Settings, stats: Stats) -> None:
    path = stream.path.partition("?")[0]
    match = _PATH.match(path)
    if stream.method != "POST" or match is None:
        await _reject(stream, BedrockError("ResourceNotFoundException", f"No route for {path}."))
        return
    try:
        base_id, specs = faults.split_model_id(unquote(match.group(1)))
        header = stream.headers.get(FAULT_HEADER, "")
        queued = settings.faults.take()
        plan = faults.parse([*specs, *header.split(","), *queued])
        if settings.issued:
            sigv4.verify(stream.headers, settings.issued)
        elif not stream.headers.get("authorization", "").startswith("AWS4-HMAC-SHA256"):
            raise BedrockError("AccessDeniedException", "Missing SigV4 authorization header.")
        stats.signed_by.append(_access_key(stream.headers))
        model = resolve_model(base_id, settings.aliases)
        if plan.at_open is not None:
            raise plan.at_open
    except BedrockError as error:
        stats.errors[error.name] = stats.errors.get(error.name, 0) + 1
        await _reject(stream, error)
        return
    stream.respond(200, [("content-type", "application/vnd.amazon.eventstream")])
    stats.active += 1
    stats.opened += 1
    try:
        if model.base_id in RETIRED and not settings.legacy_models:
            await _end_unanswered(stream, stats)
            return
        await _converse(stream, settings, stats, Validator(model), plan)
    finally:
        stats.active -= 1


def _access_key(headers: dict[str, str]) -> str:
    credential = headers.get("authorization", "").partition("Credential=")[2]
    return credential.partition("/")[0]


async def _end_unanswered(stream: H2Stream, stats: Stats) -> None:
    """A retired model: Bedrock accepts the stream and then ends it without a single event
    (LiteLLM PR 42053, 2026-09-19: its clients saw a plain close). What the client sends
    meanwhile is read, for up to half a second, before the response ends."""
    stats.errors["Retired"] = stats.errors.get("Retired", 0) + 1
    with contextlib.suppress(TimeoutError, StreamClosed):
        async with asyncio.timeout(0.5):
            while await stream.read() is not None:
                pass


async def _reject(stream: H2Stream, error: BedrockError) -> None:
    stream.respond(
        error.status,
        [("content-type", "application/json"), ("x-amzn-errortype", error.name)],
    )
    await stream.write(wire.encode_error_body(error))


async def _converse(
    stream: H2Stream, settings: Settings, stats: Stats, validator: Validator, plan: faults.FaultPlan
) -> None:
    emitter = Emitter(stream)
    received = Received(model_id=validator.model.model_id)
    stats.record(received)

    async def first_audio(number: int) -> None:
        stats.responses += 1
        action = plan.at_response.get(number) or settings.faults.struck()
        if action is None or action.kind == "mute":
            return
        if action.error is not None:
            raise action.error
        if action.kind == "reset":
            stream.abort_connection()
            raise _Reset
        # A stalled stream keeps its connection and input open but never says another word
        # (its speech signals included).
        conversation.silent = True
        await asyncio.Future()

    async def taken(number: int) -> None:
        action = plan.at_response.get(number) or settings.faults.struck(answering=False)
        if action is not None and action.kind == "mute":
            # The turn was heard; no answer, nor anything else, ever follows.
            conversation.silent = True
            await asyncio.Future()

    conversation = Conversation(
        validator,
        emitter,
        settings.script,
        realtime_factor=lambda: settings.realtime_factor,
        endpoint_override=settings.endpoint_seconds,
        first_audio=first_audio,
        probe=settings.probe,
        taken=taken,
        received=received,
    )
    tasks = [
        asyncio.create_task(_read(stream, validator, conversation)),
        asyncio.create_task(conversation.run()),
        asyncio.create_task(conversation.watch_idle()),
    ]
    limit = plan.connection_limit or settings.connection_limit
    try:
        done, _ = await asyncio.wait(tasks, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    error = _ending(done)
    if error is not None and not stream.closed:
        stats.errors[error.name] = stats.errors.get(error.name, 0) + 1
        with contextlib.suppress(StreamClosed):
            await emitter.send_frame(wire.encode_exception(error))


def _ending(done: set[asyncio.Task[None]]) -> BedrockError | None:
    """The exception event the stream ends with, given the tasks that finished first: none
    finished within the connection limit is a model timeout; a reset or a closed stream has
    no one left to tell; anything but a BedrockError is the emulator's own bug."""
    if not done:
        return BedrockError("ModelTimeoutException", MODEL_TIMEOUT)
    error: BedrockError | None = None
    for task in done:
        exc = task.exception()
        if isinstance(exc, BedrockError):
            error = exc
        elif isinstance(exc, _Reset | StreamClosed):
            return None
        elif exc is not None:
            raise exc
    return error


async def _read(stream: H2Stream, validator: Validator, conversation: Conversation) -> None:
    """Consume input until sessionEnd or the end of the request body; raise on bad input."""
    decoder = wire.FrameDecoder()
    while True:
        data = await stream.read()
        if data is None:
            return
        for message in decoder.feed(data):
            inner = decoder.unwrap(message)
            if inner is None:
                continue
            name, body, content = validator.check(wire.chunk_json(inner))
            conversation.on_event(name, body, content)
            if conversation.signals:
                await conversation.send_signals()
            if name == "sessionEnd":
                await _drain_input(stream)
                return


async def _drain_input(stream: H2Stream) -> None:
    # Ending the response before the client has ended its request body makes awscrt fail its
    # body writer in the background; a well-behaved client closes its input right away.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(2.0):
            while await stream.read() is not None:
                pass
