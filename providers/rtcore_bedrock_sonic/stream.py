"""The one upstream Bedrock stream of a session: open, send, receive, close.

This layer moves bytes only. Sends are serialized by a lock and a batch (a whole text
block) is sent under one hold, so audio can never land inside an open TEXT block. Every
wait that the SDK can turn into a hang is bounded here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence
from typing import Any

from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.models import (
    BidirectionalInputPayloadPart,
    InvokeModelWithBidirectionalStreamInputChunk,
    InvokeModelWithBidirectionalStreamOperationInput,
)

from rtcore_bedrock_sonic.errors import UpstreamFailure, classify
from rtcore_bedrock_sonic.lanes import Lane, riding

log = logging.getLogger(__name__)

_patched_loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def install_loop_exception_filter(loop: asyncio.AbstractEventLoop) -> None:
    """Silence awscrt's "Task exception was never retrieved" for streams the server ended
    first (an internal future of the SDK nobody awaits); everything else still goes to
    the previous handler."""
    if loop in _patched_loops:
        return
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if (
            exc is not None
            and "never retrieved" in str(context.get("message", ""))
            and (type(exc).__name__ == "AwsCrtError" or "AWS_ERROR_HTTP_STREAM" in str(exc))
        ):
            log.debug("awscrt background error after stream end: %s", exc)
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    _patched_loops.add(loop)


def _chunk(data: bytes) -> InvokeModelWithBidirectionalStreamInputChunk:
    return InvokeModelWithBidirectionalStreamInputChunk(
        value=BidirectionalInputPayloadPart(bytes_=data)
    )


class SonicStream:
    def __init__(self, duplex: Any, output: Any) -> None:
        self._duplex = duplex
        self._output = output
        self._lock = asyncio.Lock()
        self._input_closed = False
        self.ended_cleanly = False

    @classmethod
    async def open(
        cls,
        client: AsyncBedrockRuntimeClient,
        model_id: str,
        opening: Sequence[bytes],
        *,
        limit: float,
        region: str | None = None,
        lane: Lane | None = None,
    ) -> SonicStream:
        """Open the duplex stream, send ``opening`` and wait for the response headers.

        Bounded by ``limit``: a connection dropped before the headers, or a stream the
        transport refused silently, otherwise waits forever.
        """
        install_loop_exception_filter(asyncio.get_running_loop())
        duplex: Any = None
        # The call (connection, TLS handshake, request) is never cancelled: awscrt completes
        # its connect future later anyway and fails on a cancelled one. Past the limit it is
        # left to finish on its own and whatever it opened is abandoned.
        with riding(lane):
            call = asyncio.ensure_future(
                client.invoke_model_with_bidirectional_stream(
                    InvokeModelWithBidirectionalStreamOperationInput(model_id=model_id)
                )
            )
        try:
            async with asyncio.timeout(limit):
                duplex = await asyncio.shield(call)
                for data in opening:
                    await duplex.input_stream.send(_chunk(data))
                _, output = await duplex.await_output()
        except asyncio.CancelledError:
            if duplex is not None:
                await _abandon(duplex)
            else:
                call.add_done_callback(_abandon_late)
            raise
        except Exception as exc:
            if duplex is not None:
                await _abandon(duplex)
            elif not call.done():
                call.add_done_callback(_abandon_late)
            raise classify(exc, region=region, model_id=model_id) from exc
        return cls(duplex, output)

    async def send(self, events: Sequence[bytes]) -> None:
        async with self._lock:
            if self._input_closed:
                raise UpstreamFailure(
                    "stream_closed", "The Bedrock stream is closed.", retryable=True
                )
            try:
                for data in events:
                    await self._duplex.input_stream.send(_chunk(data))
            except Exception as exc:
                raise classify(exc) from exc

    async def receive(self) -> bytes | None:
        """The next output chunk's JSON, or None at the end of the stream."""
        try:
            while True:
                event = await self._output.receive()
                if event is None:
                    return None
                value = getattr(event, "value", None)
                data = getattr(value, "bytes_", None)
                if data:
                    return bytes(data)
        except Exception as exc:
            raise classify(exc) from exc

    async def close(self, final: Sequence[bytes], *, limit: float) -> None:
        """Send ``final`` (contentEnd/promptEnd/sessionEnd), end the input, all within
        ``limit``: after a transport failure closing can hang."""
        try:
            async with asyncio.timeout(limit):
                async with self._lock:
                    if self._input_closed:
                        return
                    self._input_closed = True
                    with contextlib.suppress(Exception):
                        for data in final:
                            await self._duplex.input_stream.send(_chunk(data))
                    with contextlib.suppress(Exception):
                        await self._duplex.input_stream.close()
        except TimeoutError:
            log.info("closing the Bedrock stream timed out; abandoning it")
            await _abandon(self._duplex)

    async def abort(self) -> None:
        self._input_closed = True
        await _abandon(self._duplex)


_late: set[asyncio.Task[None]] = set()


async def _drop_unsent(duplex: Any) -> None:
    """Close the request body's buffer without flushing it. On a dead connection nothing
    drains it: a send waits forever for room, and the SDK's own close waits (in a
    ``finally`` that no timeout can cancel twice) for it to empty. Closed unflushed, the
    waiting send fails (and its audio is held for the next stream) and close returns. The
    buffer is the SDK's private ``AsyncBytesProvider``; without it, this does nothing."""
    writer = getattr(getattr(duplex, "input_stream", None), "_writer", None)
    close = getattr(writer, "close", None)
    if close is None:
        return
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await close(flush=False)


def _abandon_late(call: asyncio.Future[Any]) -> None:
    """A call that finished after its open gave up: close what it opened, keep its error."""
    if call.cancelled():
        return
    if call.exception() is not None:
        log.debug("a Bedrock open that timed out failed later: %s", call.exception())
        return
    task = asyncio.get_running_loop().create_task(_abandon(call.result()))
    _late.add(task)
    task.add_done_callback(_late.discard)


async def _abandon(duplex: Any) -> None:
    # Best effort only: the stream is already broken or being thrown away.
    await _drop_unsent(duplex)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(1.0):
            await duplex.input_stream.close()
    output = getattr(duplex, "output_stream", None)
    if output is not None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await output.close()
