"""Client audio coalesced into fewer audioInput events: the batcher, and the wire it makes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rtcore.kit.audio.coalescer import AudioCoalescer
from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2, Driver, emulated_params


def test_batches_fill_to_the_budget_and_keep_order() -> None:
    batcher = AudioCoalescer(60, 32000)  # 16 kHz pcm16: 1920 bytes per 60 ms
    assert batcher.add(b"\x01" * 640, 0.0) is None
    assert batcher.deadline == 0.06
    assert batcher.add(b"\x02" * 640, 0.02) is None
    assert batcher.add(b"\x03" * 640, 0.04) == b"\x01" * 640 + b"\x02" * 640 + b"\x03" * 640
    assert batcher.deadline is None
    assert batcher.add(b"\x04" * 100, 0.05) is None
    assert batcher.take() == b"\x04" * 100
    assert batcher.take() == b""


def test_zero_budget_passes_chunks_through() -> None:
    batcher = AudioCoalescer(0, 32000)
    assert not batcher.enabled
    assert batcher.add(b"ab", 0.0) == b"ab"
    assert batcher.deadline is None


def test_odd_budgets_never_split_a_sample() -> None:
    assert AudioCoalescer(33, 16000).limit % 2 == 0


class _Sizes:
    def __init__(self) -> None:
        self.sizes: list[int] = []

    def audio_in(self, stream: int, pcm: bytes, at_ns: int) -> None:
        self.sizes.append(len(pcm))

    def audio_out(self, stream: int, size: int, at_ns: int) -> None:
        pass


async def _session(emu: NovaSonicEmulator, **params: object) -> tuple[Driver, Callable[[], Any]]:
    provider = SonicProvider(
        ModelConfig(
            name="sonic", provider="bedrock-sonic", model=V2, params=emulated_params(emu, **params)
        )
    )
    driver = Driver(await provider.open_session(n.SessionConfig(model=V2)))
    return driver, provider.aclose


async def _until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - polls another process's probe
            await asyncio.sleep(0.01)


async def test_client_chunks_reach_bedrock_in_budget_sized_events(tmp_path: Path) -> None:
    probe = _Sizes()
    async with NovaSonicEmulator(
        cert_dir=tmp_path, realtime_factor=0.0, probe=probe, legacy_models=True
    ) as emu:
        driver, close = await _session(emu, audio_coalesce_ms=60)
        chunk = 2 * n.SessionConfig(model=V2).input_sample_rate // 50  # 20 ms
        for _ in range(6):
            await driver.session.send(n.AppendAudio(pcm=bytes(chunk)))
        await _until(lambda: len(probe.sizes) >= 2)
        assert probe.sizes == [3 * chunk, 3 * chunk]
        # A client that pauses: what is held goes out once it has waited its budget.
        await driver.session.send(n.AppendAudio(pcm=bytes(chunk)))
        await _until(lambda: len(probe.sizes) >= 3)
        assert probe.sizes[2] == chunk
        # Any other command sends held audio first.
        await driver.session.send(n.AppendAudio(pcm=bytes(chunk)))
        await driver.session.send(n.CommitAudio(item_id="item_1"))
        await _until(lambda: len(probe.sizes) >= 4)
        assert probe.sizes[3] == chunk  # then the commit's silence
        await driver.aclose()
        await close()


async def test_zero_budget_sends_one_event_per_chunk(tmp_path: Path) -> None:
    probe = _Sizes()
    async with NovaSonicEmulator(
        cert_dir=tmp_path, realtime_factor=0.0, probe=probe, legacy_models=True
    ) as emu:
        driver, close = await _session(emu, audio_coalesce_ms=0)
        for _ in range(4):
            await driver.session.send(n.AppendAudio(pcm=bytes(640)))
        await _until(lambda: len(probe.sizes) >= 4)
        assert probe.sizes == [640] * 4
        await driver.aclose()
        await close()


# -- when holding stops: the hold must never delay what the user hears ----------------------

_CHUNK = 640  # 20 ms of 16 kHz pcm16


def _chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + _CHUNK] for i in range(0, len(pcm), _CHUNK)]


# 0.12 s of lead silence and a 0.6 s tone: 36 chunks, twelve whole 60 ms batches.
_SPEECH = utterance_pcm(0, lead_silence=0.12, trail_silence=0.0)


async def _received(probe: _Sizes, total: int) -> None:
    await _until(lambda: sum(probe.sizes) >= total)


async def test_quiet_after_speech_goes_at_once_until_nova_takes_the_turn(tmp_path: Path) -> None:
    probe = _Sizes()
    async with NovaSonicEmulator(
        cert_dir=tmp_path, realtime_factor=0.0, probe=probe, endpoint_seconds=0.6
    ) as emu:
        driver, close = await _session(emu, audio_coalesce_ms=60)
        sent = 0
        for pcm in _chunks(_SPEECH) + [bytes(_CHUNK)] * 10:  # 0.2 s of quiet: no turn yet
            await driver.session.send(n.AppendAudio(pcm=pcm))
            sent += len(pcm)
        await _received(probe, sent)
        # Lead silence and speech went in batches; within one batch of the user going quiet
        # (Nova's end-of-turn pause has begun: the chunk that ends it starts the reply)
        # every chunk goes at once, alone.
        assert probe.sizes[:12] == [3 * _CHUNK] * 12
        assert probe.sizes[-5:] == [_CHUNK] * 5
        # Nova ends the turn after 0.6 s of quiet and answers; then quiet waits again.
        for _ in range(25):
            await driver.session.send(n.AppendAudio(pcm=bytes(_CHUNK)))
            sent += _CHUNK
        await driver.wait_done(1)
        for _ in range(6):
            await driver.session.send(n.AppendAudio(pcm=bytes(_CHUNK)))
            sent += _CHUNK
        await _received(probe, sent)
        assert probe.sizes[-2:] == [3 * _CHUNK] * 2
        await driver.aclose()
        await close()


async def test_speech_during_a_reply_goes_at_once(tmp_path: Path) -> None:
    probe = _Sizes()
    async with NovaSonicEmulator(
        cert_dir=tmp_path, realtime_factor=1.0, probe=probe, endpoint_seconds=0.6
    ) as emu:
        driver, close = await _session(emu, audio_coalesce_ms=60)
        story = utterance_pcm(2, trail_silence=0.8)  # a long story, played in real time
        for pcm in _chunks(story):
            await driver.session.send(n.AppendAudio(pcm=pcm))
        await driver.wait(lambda: bool(driver.of(n.AudioDelta)))
        sent = len(story)
        await _received(probe, sent)
        # Quiet while Nova speaks waits in a batch ...
        for _ in range(3):
            await driver.session.send(n.AppendAudio(pcm=bytes(_CHUNK)))
            sent += _CHUNK
        await _received(probe, sent)
        assert probe.sizes[-1] == 3 * _CHUNK
        # ... speech over it (a barge-in) does not: each chunk goes as it comes.
        voiced = _chunks(utterance_pcm(5, lead_silence=0.0, trail_silence=0.0))[5:7]
        assert not driver.of(n.ResponseDone)  # the reply is still playing
        for pcm in voiced:
            await driver.session.send(n.AppendAudio(pcm=pcm))
            sent += len(pcm)
        await _received(probe, sent)
        assert probe.sizes[-2:] == [_CHUNK, _CHUNK]
        await driver.aclose()
        await close()


async def test_a_known_end_of_turn_pause_lets_quiet_before_it_wait(tmp_path: Path) -> None:
    probe = _Sizes()
    async with NovaSonicEmulator(
        cert_dir=tmp_path, realtime_factor=0.0, probe=probe, endpoint_seconds=0.6
    ) as emu:
        driver, close = await _session(emu, audio_coalesce_ms=60, end_of_turn_pause_ms=600)
        sent = 0
        for pcm in _chunks(_SPEECH) + [bytes(_CHUNK)] * 30:  # the quiet that ends the turn
            await driver.session.send(n.AppendAudio(pcm=pcm))
            sent += len(pcm)
        await _received(probe, sent)
        # Quiet well short of the 0.6 s pause waits in batches; from one batch before it,
        # each chunk goes at once (the last of them ends the turn).
        assert probe.sizes == [3 * _CHUNK] * 21 + [_CHUNK] * 3
        await driver.wait_done(1)
        await driver.aclose()
        await close()
