"""A retired model, as Bedrock treats it since its end of life: the stream is accepted and
then ends without a single event (LiteLLM PR 42053). ``legacy_models`` serves it as it was."""

from __future__ import annotations

from pathlib import Path

from rtcore_sonic_emulator import NovaSonicEmulator, make_client, utterance_pcm
from tests.emulator.conftest import V1, V2
from tests.emulator.sdk_stream import SonicStream


async def spoken_turn(endpoint: str, ca_file: Path, model_id: str) -> SonicStream:
    client = await make_client(endpoint, ca_file)
    session = await SonicStream.open(client, model_id)
    await session.start(voice="matthew")  # opens the AUDIO block too
    await session.send_audio(utterance_pcm(0))
    return session


async def test_a_retired_model_ends_its_stream_without_an_event(cert_dir: Path) -> None:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0) as emu:
        retired = await spoken_turn(emu.endpoint, emu.ca_file, V1)
        assert await retired.next() is None  # the end, and nothing before it
        active = await spoken_turn(emu.endpoint, emu.ca_file, V2)
        first = await active.next()
        assert first is not None  # Nova 2 answers as usual
        await active.close()
        assert emu.stats.errors.get("Retired") == 1


async def test_legacy_models_serves_v1_as_it_was(cert_dir: Path) -> None:
    async with NovaSonicEmulator(cert_dir=cert_dir, realtime_factor=0.0, legacy_models=True) as emu:
        session = await spoken_turn(emu.endpoint, emu.ca_file, V1)
        first = await session.next()
        assert first is not None
        assert first[0] == "completionStart"
        await session.close()
