"""A client that ends its whole HTTP/2 connection (GOAWAY) while replies are on their way:
every stream of it is closed at once, so a handler's next write ends it quietly instead of
failing inside h2 and logging a traceback."""

from __future__ import annotations

import asyncio
import logging

import h2.config
import h2.connection
import pytest

from rtcore_sonic_emulator.h2server import H2Connection, H2Stream, StreamClosed


async def test_goaway_closes_the_streams_a_handler_still_writes_to(
    caplog: pytest.LogCaptureFixture,
) -> None:
    connections: list[H2Connection] = []
    outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def handler(stream: H2Stream) -> None:
        # A reply in progress: write again as soon as the GOAWAY has been taken in.
        h2_state = connections[0]._h2.state_machine
        # Polls h2's own state each loop turn: there is no event to wait on.
        while h2_state.state is not h2.connection.ConnectionState.CLOSED:  # noqa: ASYNC110
            await asyncio.sleep(0)
        try:
            stream.write_nowait(b"the rest of a reply")
        except BaseException as exc:
            outcome.set_result(exc)
            raise
        outcome.set_result(None)

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = H2Connection(reader, writer, handler, 10)
        connections.append(connection)
        await connection.serve()

    server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    headers = [(":method", "POST"), (":path", "/"), (":scheme", "http"), (":authority", "x")]
    client.send_headers(1, headers)
    client.close_connection()  # GOAWAY right behind the request; the socket stays open
    try:
        with caplog.at_level(logging.ERROR):
            writer.write(client.data_to_send())
            await writer.drain()
            async with asyncio.timeout(5):
                raised = await outcome
            await asyncio.sleep(0.05)  # the handler's task finishes
        assert isinstance(raised, StreamClosed)
        assert not [r for r in caplog.records if "stream handler failed" in r.getMessage()]
    finally:
        writer.close()
        server.close()
        await server.wait_closed()
