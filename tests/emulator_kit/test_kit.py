"""What the emulators share through rtcore_emulator_kit, checked through the emulators that use
it: the wording of a bad fault spec (pinned as docs/emulator.md gives it), the struck-fault
queue, the local CA over a real TLS handshake, and the loopback rule."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rtcore_emulator_kit.certs import LocalCA, client_ssl_context, server_ssl_context
from rtcore_emulator_kit.faults import FaultSpecError
from rtcore_emulator_kit.served import check_listening
from rtcore_gemini_emulator import faults as gemini
from rtcore_openai_emulator import faults as openai
from rtcore_sonic_emulator import faults as sonic
from rtcore_sonic_emulator.errors import BedrockError

GEMINI_NAMES = ", ".join(gemini.NAMES)


@pytest.mark.parametrize(
    ("parse", "spec", "message"),
    [
        (gemini.parse, "x", f"unknown emulator fault 'x'; known: {GEMINI_NAMES}"),
        (gemini.parse, "stall@y", "bad fault position in 'stall@y'"),
        (gemini.parse, "stall@0", "fault stall cannot happen at position 0"),
        (gemini.parse, "reset=1", "fault reset takes no value: 'reset=1'"),
        (gemini.parse, "quota=x", "a close code is a number: 'quota=x'"),
        (gemini.parse, "lifetime=x", "lifetime needs seconds, e.g. lifetime=5: 'lifetime=x'"),
        (openai.parse, "reset=1", "fault reset takes no value: 'reset=1'"),
        (openai.parse, "close=x", "a close code is a number: 'close=x'"),
        (openai.parse, "cap=x", "cap needs seconds, e.g. cap=5: 'cap=x'"),
        (openai.parse, "cap=5@1", "cap takes no position: 'cap=5@1'"),
        (openai.parse, "server-error@0", "fault server-error cannot happen at position 0"),
    ],
)
def test_a_bad_spec_reads_the_same_in_the_websocket_emulators(
    parse: Callable[[list[str]], object], spec: str, message: str
) -> None:
    with pytest.raises(FaultSpecError) as info:
        parse([spec])
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x", f"Unknown emulator fault 'x'; known: {', '.join(sonic.NAMES)}."),
        ("stall@y", "Bad fault position in 'stall@y'."),
        ("stall@0", "Fault stall cannot happen at position 0."),
        ("no-model@2", "Fault no-model cannot happen at position 2."),
        ("limit=x", "Fault limit needs seconds, e.g. limit=5; got 'limit=x'."),
    ],
)
def test_nova_sonic_words_a_bad_spec_as_a_bedrock_sentence(spec: str, message: str) -> None:
    with pytest.raises(BedrockError) as info:
        sonic.parse([spec])
    assert (info.value.name, info.value.message) == ("ValidationException", message)


def test_blank_specs_are_skipped_and_the_rest_are_read() -> None:
    plan = gemini.parse(["", "  ", " lifetime=2.5 ", "internal@3"])
    assert plan.lifetime == 2.5
    assert plan.at_turn[3].close is not None
    assert plan.at_turn[3].close.code == 1011


def test_a_struck_mute_waits_for_the_turn_and_a_struck_close_for_the_answer() -> None:
    queue = gemini.FaultQueue()
    queue.strike("mute")
    queue.strike("internal")
    assert queue.struck() is None  # the mute comes first and strikes before any answer
    muted = queue.struck(answering=False)
    assert muted is not None
    assert muted.kind == "mute"
    assert queue.struck(answering=False) is None
    closed = queue.struck()
    assert closed is not None
    assert closed.kind == "close"
    assert queue.struck() is None


def test_the_queue_refuses_a_typo_at_once_and_hands_specs_out_in_order() -> None:
    queue = openai.FaultQueue()
    with pytest.raises(FaultSpecError):
        queue.add("stal")
    with pytest.raises(FaultSpecError, match="inject it"):
        queue.strike("throttle")
    queue.add("stall@2", connections=2)
    queue.add("reset")
    assert len(queue) == 3
    assert [queue.take(), queue.take(), queue.take(), queue.take()] == [
        ["stall@2"],
        ["stall@2"],
        ["reset"],
        [],
    ]
    queue.strike("stall")
    queue.clear()
    assert queue.struck() is None


async def _echo_over_tls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> bytes:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await reader.readexactly(5))
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    async with server:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_tls, server_hostname="localhost"
        )
        try:
            writer.write(b"hello")
            return await asyncio.wait_for(reader.readexactly(5), 10)
        finally:
            writer.close()


async def test_a_local_ca_is_made_once_and_trusted_over_a_real_handshake(tmp_path: Path) -> None:
    ca = LocalCA("unused-default", "rtcore test emulator")
    files = ca.ensure(tmp_path)
    first = files.ca_file.read_bytes()
    assert ca.ensure(tmp_path).ca_file.read_bytes() == first  # kept, not made again
    assert files.key_file.stat().st_mode & 0o777 == 0o600
    tls = server_ssl_context(files)
    assert await _echo_over_tls(tls, client_ssl_context(files.ca_file)) == b"hello"


async def test_a_client_trusting_another_emulators_ca_refuses_the_certificate(
    tmp_path: Path,
) -> None:
    ours = LocalCA("unused", "rtcore one").ensure(tmp_path / "one")
    theirs = LocalCA("unused", "rtcore two").ensure(tmp_path / "two")
    with pytest.raises(ssl.SSLCertVerificationError):
        await _echo_over_tls(server_ssl_context(ours), client_ssl_context(theirs.ca_file))


@pytest.mark.parametrize(("host", "factor"), [("0.0.0.0", 1.0), ("example.com", 1.0)])
def test_an_emulator_listens_on_loopback_only(host: str, factor: float) -> None:
    with pytest.raises(ValueError, match="only listens on loopback"):
        check_listening(host, factor)


def test_pacing_is_never_negative() -> None:
    check_listening("::1", 0.0)
    with pytest.raises(ValueError, match="realtime_factor must be >= 0"):
        check_listening("localhost", -0.1)


@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("rtcore_sonic_emulator", "rtcore emulator"),
        ("rtcore_gemini_emulator", "rtcore gemini-emulator"),
        ("rtcore_openai_emulator", "rtcore openai-emulator"),
    ],
)
@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--host", "192.0.2.1"], "only listens on loopback"),
        (["--fault", "no-such-fault"], "no-such-fault"),
    ],
)
def test_an_emulator_refuses_what_it_cannot_serve_in_a_sentence(
    module: str, command: str, flags: list[str], said: str, tmp_path: Path
) -> None:
    """Exit 2 and one line naming the command and the trouble, as a CLI's usage error is,
    never a traceback."""
    run = subprocess.run(
        [sys.executable, "-m", module, "--port", "0", "--cert-dir", str(tmp_path), *flags],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"{command}: ")
    assert said in line
