"""Client audio coalesced into fewer audioInput events: the batcher, and the wire it makes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rtcore.kit.coalescer import AudioCoalescer
from rtcore.provider import ModelConfig
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.provider import SonicProvider
from rtcore_sonic_emulator import NovaSonicEmulator
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
