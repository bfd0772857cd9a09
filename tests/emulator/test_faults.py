"""Each fault on demand, as the real SDK reports it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest
from aws_sdk_bedrock_runtime.models import (
    AccessDeniedException,
    InternalServerException,
    ModelStreamErrorException,
    ModelTimeoutException,
    ServiceUnavailableException,
    ThrottlingException,
    ValidationException,
)

from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from rtcore_sonic_emulator.errors import ACCESS_DENIED
from tests.emulator.conftest import V1, V2
from tests.emulator.sdk_stream import SonicStream


async def test_connection_limit_ends_with_model_timeout(client: Any) -> None:
    session = await SonicStream.open(client, V2 + "~limit=0.5")
    await session.start()
    started = time.monotonic()
    with pytest.raises(ModelTimeoutException) as info:
        await session.until("never")
    assert info.value.message == "Model has timed out in processing the request"
    assert 0.4 < time.monotonic() - started < 3
    await session.aclose()


async def test_throttling_at_open(client: Any) -> None:
    session = await SonicStream.open(client, V1 + "~throttle")
    await session.start()
    with pytest.raises(ThrottlingException):
        await session.next()
    await session.aclose()


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("access-denied", AccessDeniedException, ACCESS_DENIED),
        ("no-model", ValidationException, "The provided model identifier is invalid."),
    ],
)
async def test_refused_at_open(
    emulator: NovaSonicEmulator, client: Any, spec: str, error: type[Exception], message: str
) -> None:
    session = await SonicStream.open(client, V1 + "~" + spec)
    await session.start()
    with pytest.raises(error) as info:
        await session.next()
    assert getattr(info.value, "message", None) == message
    assert emulator.stats.opened == 0
    assert emulator.stats.errors == {error.__name__: 1}
    await session.aclose()


def test_open_only_faults_have_no_later_position() -> None:
    from rtcore_sonic_emulator.errors import BedrockError
    from rtcore_sonic_emulator.faults import parse

    with pytest.raises(BedrockError):
        parse(["access-denied@1"])
    assert parse(["no-model"]).at_open is not None


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("stream-error", ModelStreamErrorException, None),
        ("unavailable", ServiceUnavailableException, None),
        ("internal", InternalServerException, None),
        ("rst531", ValidationException, "InternalErrorCode=531::RST_STREAM closed stream"),
    ],
)
async def test_error_mid_response(
    emulator: NovaSonicEmulator, client: Any, spec: str, error: type[Exception], message: str | None
) -> None:
    emulator.inject(f"{spec}@2")
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send_audio(utterance_pcm(0) + utterance_pcm(0))
    await session.until("completionEnd")  # the first response is clean
    before = len(session.received)
    with pytest.raises(error) as info:
        await session.drain()
    events = [name for name, _ in session.received[before:]]
    assert events[-1] == "audioOutput", "the error comes mid-response, after audio started"
    if message is not None:
        assert getattr(info.value, "message", None) == message
    if isinstance(info.value, ModelStreamErrorException):
        assert info.value.original_status_code == 500
    await session.aclose()


async def test_stalled_stream_goes_silent(emulator: NovaSonicEmulator, client: Any) -> None:
    session = await SonicStream.open(client, V2 + "~stall")
    await session.start()
    await session.send_audio(utterance_pcm(0))
    await session.until("audioOutput")
    with pytest.raises(TimeoutError):
        await session.next(wait=0.5)
    # Still accepting input: the stall is on the output side only.
    await session.send_audio(utterance_pcm(1))
    with pytest.raises(TimeoutError):
        await session.next(wait=0.3)
    await session.aclose(wait=1)


async def test_connection_reset_mid_response(client: Any) -> None:
    session = await SonicStream.open(client, V2 + "~reset")
    await session.start()
    await session.send_audio(utterance_pcm(0))
    await session.until("audioOutput")
    # A TCP drop looks like a clean end to receive() (an SDK trap) or an OSError.
    try:
        while (event := await session.next(wait=5)) is not None:
            assert event[0] != "completionEnd"
    except OSError:
        pass
    await session.aclose(wait=1)


async def test_faults_for_all_connections_and_unknown_fault(cert_dir: Any) -> None:
    from rtcore_sonic_emulator import make_client

    async with NovaSonicEmulator(
        cert_dir=cert_dir, realtime_factor=0, faults=["limit=0.3"], legacy_models=True
    ) as emu:
        client = await make_client(emu.endpoint, emu.ca_file)
        for model in (V1, V2 + "~bogus"):
            session = await SonicStream.open(client, model)
            await session.start()
            expected = ModelTimeoutException if model == V1 else ValidationException
            with pytest.raises(expected):
                await asyncio.wait_for(session.until("never"), 5)
            await session.aclose()


async def test_a_struck_fault_hits_the_next_reply_of_an_open_stream(
    emulator: NovaSonicEmulator, client: Any
) -> None:
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send_audio(utterance_pcm(0))
    await session.until("completionEnd")  # the first reply is clean
    emulator.strike("throttle")  # the stream is open already
    await session.send_audio(utterance_pcm(3))
    before = len(session.received)
    with pytest.raises(ThrottlingException):
        await session.drain()
    assert [name for name, _ in session.received[before:]][-1] == "audioOutput"
    await session.aclose()
    assert emulator.stats.opened == 1


async def test_mute_takes_the_turn_and_says_nothing_more(
    emulator: NovaSonicEmulator, client: Any
) -> None:
    emulator.strike("mute")
    session = await SonicStream.open(client, V2)
    await session.start()
    await session.send_audio(utterance_pcm(0))
    await session.until("textOutput")  # the USER transcript: the turn was taken
    after: list[str] = []
    with contextlib.suppress(TimeoutError):
        while (event := await session.next(wait=0.5)) is not None:
            after.append(event[0])
    # Nothing of a reply ever comes, and the stream stays open.
    assert "audioOutput" not in after
    assert "completionEnd" not in after
    assert emulator.stats.active == 1
    await session.aclose(wait=1)
