"""A small asyncio HTTP/2 server over TLS (ALPN ``h2``) with per-stream async handlers.

The ``h2`` package is a sans-I/O state machine; this module owns the socket, feeds it, and turns
each request stream into an :class:`H2Stream` that a handler reads and writes with flow control.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
from collections import deque
from collections.abc import Awaitable, Callable

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import h2.settings

_log = logging.getLogger(__name__)

type Handler = Callable[[H2Stream], Awaitable[None]]

# A large receive window keeps the client from stalling on WINDOW_UPDATE round trips while we
# still acknowledge only what a handler has consumed (real back-pressure, bounded memory).
_WINDOW = 4 * 1024 * 1024
# The HTTP/2 default; streams start with it and are opened wider with a WINDOW_UPDATE.
_DEFAULT_WINDOW = 65535
_READ_SIZE = 256 * 1024


class StreamClosed(Exception):
    """The peer reset the stream or the connection went away."""


class H2Stream:
    """One request/response exchange. Methods must be called from the server's event loop."""

    def __init__(self, conn: H2Connection, stream_id: int, headers: dict[str, str]) -> None:
        self._conn = conn
        self.stream_id = stream_id
        self.headers = headers
        self._inbox: deque[bytes | None] = deque()
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self.closed = False
        self._ended = False

    @property
    def method(self) -> str:
        return self.headers.get(":method", "")

    @property
    def path(self) -> str:
        return self.headers.get(":path", "")

    async def read(self) -> bytes | None:
        """The next DATA payload, or None once the client ended its side."""
        while not self._inbox:
            if self.closed:
                raise StreamClosed
            self._readable.clear()
            await self._readable.wait()
        data = self._inbox.popleft()
        if data:
            self._conn.acknowledge(self.stream_id, len(data))
        return data

    def respond(self, status: int, headers: list[tuple[str, str]], *, end: bool = False) -> None:
        if self.closed:
            raise StreamClosed
        self._conn.send_headers(self.stream_id, [(":status", str(status)), *headers], end)
        self._ended = end

    def write_nowait(self, data: bytes) -> bool:
        """Queue all of ``data`` at once if the flow-control windows allow; else queue nothing and
        return False. Nothing is awaited, so a caller cancelled afterwards never leaves half a
        message on the stream."""
        if self.closed:
            raise StreamClosed
        if self._conn.window(self.stream_id) < len(data):
            return False
        self._conn.send_all(self.stream_id, data)
        return True

    async def drain(self) -> None:
        """Wait while the socket's write buffer is above its high-water mark."""
        await self._conn.drain()

    async def write(self, data: bytes) -> None:
        if self.write_nowait(data):
            await self._conn.drain()
            return
        view = memoryview(data)
        while view:
            if self.closed:
                raise StreamClosed
            size = self._conn.sendable(self.stream_id, len(view))
            if size == 0:
                self._writable.clear()
                await self._writable.wait()
                continue
            self._conn.send_data(self.stream_id, bytes(view[:size]))
            view = view[size:]
        await self._conn.drain()

    def end(self) -> None:
        if not self.closed and not self._ended:
            self._ended = True
            self._conn.end_stream(self.stream_id)

    def reset(self, code: int = h2.errors.ErrorCodes.INTERNAL_ERROR) -> None:
        if not self.closed:
            self._conn.reset_stream(self.stream_id, code)
            self._close()

    def abort_connection(self) -> None:
        """Drop the TCP connection with an RST, as a crashed front end would."""
        self._conn.abort()

    # Called by the connection.
    def _push(self, data: bytes | None) -> None:
        self._inbox.append(data)
        self._readable.set()

    def _close(self) -> None:
        self.closed = True
        self._readable.set()
        self._writable.set()


class H2Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        handler: Handler,
        max_concurrent_streams: int,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._handler = handler
        config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
        self._h2 = h2.connection.H2Connection(config=config)
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: max_concurrent_streams,
            },
        )
        self._streams: dict[int, H2Stream] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._flush_pending = False
        sock = writer.get_extra_info("socket")
        self._sock: socket.socket | None = sock

    def _set_option(self, level: int, option: int, value: int | bytes) -> None:
        if self._sock is None:
            return
        # A socket already closed is an OSError on asyncio's loop, a ValueError (no file
        # descriptor) on uvloop's: either way the option no longer matters.
        with contextlib.suppress(OSError, ValueError):
            self._sock.setsockopt(level, option, value)

    def _quickack(self) -> None:
        # Linux clears TCP_QUICKACK on its own, so it is re-armed after each read; without it the
        # client's small frames meet delayed ACKs and Nagle and latency jumps by ~40 ms.
        if hasattr(socket, "TCP_QUICKACK"):
            self._set_option(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)

    async def serve(self) -> None:
        self._set_option(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._quickack()
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(_WINDOW)
        self._flush_now()
        try:
            while True:
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    break
                self._quickack()
                try:
                    events = self._h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    self._flush()
                    break
                for event in events:
                    self._dispatch(event)
                self._flush()
        except (ConnectionError, OSError, ssl.SSLError):
            pass
        finally:
            for stream in self._streams.values():
                stream._close()
            self._streams.clear()
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            self._flush_now()
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    def _dispatch(self, event: h2.events.Event) -> None:
        if isinstance(event, h2.events.RequestReceived):
            assert event.headers is not None
            headers = {str(k): str(v) for k, v in event.headers}
            stream = H2Stream(self, event.stream_id, headers)
            self._streams[event.stream_id] = stream
            # Each stream's receive window is opened with a WINDOW_UPDATE rather than through
            # SETTINGS_INITIAL_WINDOW_SIZE: awscrt keeps the default 64 KiB send window on a
            # stream it opened before our SETTINGS arrived, and such a stream stalled for good.
            with contextlib.suppress(h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                self._h2.increment_flow_control_window(
                    _WINDOW - _DEFAULT_WINDOW, stream_id=event.stream_id
                )
            task = asyncio.create_task(self._run(stream))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif isinstance(event, h2.events.DataReceived):
            found = self._streams.get(event.stream_id)
            if found is not None and event.data:
                found._push(event.data)
            elif event.flow_controlled_length:
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            found = self._streams.get(event.stream_id)
            if found is not None:
                found._push(None)
        elif isinstance(event, h2.events.StreamReset):
            found = self._streams.pop(event.stream_id, None)
            if found is not None:
                found._close()
        elif isinstance(event, h2.events.WindowUpdated):
            targets = (
                self._streams.values()
                if event.stream_id == 0
                else filter(None, [self._streams.get(event.stream_id)])
            )
            for stream in targets:
                stream._writable.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            for stream in self._streams.values():
                stream._writable.set()
        elif isinstance(event, h2.events.ConnectionTerminated):
            # Every stream ends with the connection, now: a handler that writes before the
            # read loop sees the socket close must get StreamClosed, not an h2 error.
            for stream in self._streams.values():
                stream._close()
            self._writer.close()

    async def _run(self, stream: H2Stream) -> None:
        try:
            await self._handler(stream)
            stream.end()
        except StreamClosed:
            pass
        except Exception:
            # A handler bug must not take the connection's other streams down with it.
            _log.exception("stream handler failed")
            stream.reset()
        finally:
            self._streams.pop(stream.stream_id, None)
            stream._close()
            self._flush()

    # Primitives used by H2Stream.
    def acknowledge(self, stream_id: int, size: int) -> None:
        with contextlib.suppress(h2.exceptions.StreamClosedError, KeyError):
            self._h2.acknowledge_received_data(size, stream_id)
        self._flush()

    def window(self, stream_id: int) -> int:
        """How many bytes the stream may send now (the stream's and the connection's window)."""
        try:
            return int(self._h2.local_flow_control_window(stream_id))
        except (h2.exceptions.StreamClosedError, KeyError):
            stream = self._streams.pop(stream_id, None)
            if stream is not None:
                stream._close()
            raise StreamClosed from None

    def sendable(self, stream_id: int, wanted: int) -> int:
        window = self.window(stream_id)
        return max(0, min(wanted, window, self._h2.max_outbound_frame_size))

    def send_all(self, stream_id: int, data: bytes) -> None:
        """Send ``data``, which the windows allow, in frames of the largest size allowed."""
        limit = self._h2.max_outbound_frame_size
        if len(data) <= limit:
            self._h2.send_data(stream_id, data)
        else:
            view = memoryview(data)
            for offset in range(0, len(data), limit):
                self._h2.send_data(stream_id, bytes(view[offset : offset + limit]))
        self._flush()

    def send_headers(self, stream_id: int, headers: list[tuple[str, str]], end: bool) -> None:
        self._h2.send_headers(stream_id, headers, end_stream=end)
        self._flush()

    def send_data(self, stream_id: int, data: bytes) -> None:
        self._h2.send_data(stream_id, data)
        self._flush()

    def end_stream(self, stream_id: int) -> None:
        with contextlib.suppress(h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self._h2.end_stream(stream_id)
        self._flush()

    def reset_stream(self, stream_id: int, code: int) -> None:
        with contextlib.suppress(h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
            self._h2.reset_stream(stream_id, code)
        self._streams.pop(stream_id, None)
        self._flush()

    def abort(self) -> None:
        # What was sent before the crash reaches the peer, as it would have without coalescing.
        self._flush_now()
        # Linger 0 turns close() into a TCP RST instead of an orderly FIN.
        self._set_option(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._writer.transport.abort()

    async def drain(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()

    def _flush(self) -> None:
        # Everything h2 queues during one pass of the event loop (frames of many streams, window
        # updates) goes out in one write: one TLS record and one send() instead of one per frame.
        if not self._flush_pending:
            self._flush_pending = True
            self._loop.call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_pending = False
        data = self._h2.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)


class H2Server:
    """Accepts TLS connections on loopback and runs ``handler`` for every request stream."""

    def __init__(
        self,
        handler: Handler,
        ssl_context: ssl.SSLContext,
        *,
        max_concurrent_streams: int = 1000,
        on_connection: Callable[[], None] | None = None,
        on_disconnection: Callable[[], None] | None = None,
    ) -> None:
        self._on_connection = on_connection
        self._on_disconnection = on_disconnection
        self._handler = handler
        self._ssl = ssl_context
        self._max_streams = max_concurrent_streams
        self._server: asyncio.Server | None = None
        self._connections: dict[H2Connection, asyncio.Task[None]] = {}

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self._server = await asyncio.start_server(
            self._accept, host, port, ssl=self._ssl, backlog=1024
        )
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is None or ssl_object.selected_alpn_protocol() != "h2":
            # Only HTTP/2 carries a duplex event stream; say so instead of hanging.
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        if self._on_connection is not None:
            self._on_connection()
        connection = H2Connection(reader, writer, self._handler, self._max_streams)
        self._connections[connection] = task
        try:
            await connection.serve()
        finally:
            del self._connections[connection]
            if self._on_disconnection is not None:
                self._on_disconnection()

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        # Closing the sockets ends each connection's read loop, which then cancels its streams;
        # cancelling the accept tasks themselves upsets asyncio's stream callbacks.
        for connection in list(self._connections):
            connection.abort()
        if self._connections:
            await asyncio.wait(list(self._connections.values()), timeout=5)
        await self._server.wait_closed()
        self._server = None
