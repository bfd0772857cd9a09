"""``python -m bench.session_memory [SESSIONS] [CYCLES]``: what a session keeps on the heap.

The benchmark's RSS per session is the growth of the gateway's resident size over the
window, divided by the sessions: it cannot tell a session's memory from the allocator's
reuse of pages freed at start (the SDK's import), and moves by tenths of a MB between runs.
This counts the Python heap instead. SESSIONS sessions (20) go through the core and the
Bedrock provider (real SDK, real HTTP/2) in this process to the benchmark's emulator in
its own, each speaking the benchmark's cycle in real time (an utterance, the end-of-turn
pause, then quiet while the reply plays, 4 s), CYCLES times (6). ``tracemalloc`` samples
the heap as they speak, once the first two cycles are over; a session's memory is the
mean (and the largest) sampled heap above the heap with one session open (which holds
the SDK's client and the model's shared state), over SESSIONS. What the SDK's native
part (awscrt) allocates is not on that heap: the RSS figure is the one that has it.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import tracemalloc
from pathlib import Path

from bench.in_process import appends, replies_done, sonic_model
from bench.speech import CHUNK_BYTES, CHUNK_MS, ENDPOINT_SECONDS, RATE
from bench.targets import Emulator
from rtcore.connection import Connection
from rtcore.gateway import Gateway
from rtcore.plugins import load_plugins
from rtcore.provider import ModelConfig
from rtcore_sonic_emulator import utterance_pcm

WARM_UP_CYCLES = 2
QUIET_SECONDS = 4.0  # the reply playing: the user is quiet


async def measure(sessions: int, cycles: int) -> dict[str, object]:
    speech = appends(utterance_pcm(0, trail_silence=ENDPOINT_SECONDS + 0.3), CHUNK_BYTES)
    quiet = appends(bytes(int(RATE * 2 * QUIET_SECONDS)), CHUNK_BYTES)
    samples: list[int] = []
    where: list[tracemalloc.StatisticDiff] = []
    emu = await Emulator.start(Path(tempfile.mkdtemp()))
    try:
        model = sonic_model(emu.endpoint, emu.ca_file)
        gateway = Gateway([model], load_plugins().providers(), max_message_bytes=1 << 20)
        try:
            async with gateway.connect(model) as first:
                await _speak(first, speech, quiet, cycles=1)
                gc.collect()
                tracemalloc.start()
                base = tracemalloc.get_traced_memory()[0]
                started = asyncio.Event()

                before = tracemalloc.take_snapshot()

                async def sample() -> None:
                    await started.wait()
                    while True:
                        samples.append(tracemalloc.get_traced_memory()[0] - base)
                        if len(samples) == 100:  # 5 s in: where the heap is, by file
                            after = tracemalloc.take_snapshot()
                            where.extend(after.compare_to(before, "filename")[:12])
                        await asyncio.sleep(0.05)

                sampler = asyncio.create_task(sample())
                try:
                    async with asyncio.TaskGroup() as group:
                        for index in range(sessions):
                            group.create_task(
                                _session(gateway, model, speech, quiet, cycles, started, index)
                            )
                finally:
                    sampler.cancel()
                    tracemalloc.stop()
        finally:
            await gateway.aclose()
    finally:
        await emu.stop()
    if not samples:
        raise RuntimeError("no sample was taken")
    return {
        "sessions": sessions,
        "mean_kib_per_session": sum(samples) / len(samples) / 1024 / sessions,
        "max_kib_per_session": max(samples) / 1024 / sessions,
        "samples": len(samples),
        "by_file": [(d.traceback[0].filename, d.size_diff / 1024 / sessions) for d in where],
    }


async def _session(
    gateway: Gateway,
    model: ModelConfig,
    speech: list[str],
    quiet: list[str],
    cycles: int,
    started: asyncio.Event,
    index: int,
) -> None:
    async with gateway.connect(model) as conn:
        await _speak(conn, speech, quiet, cycles=WARM_UP_CYCLES)
        if index == 0:
            started.set()  # the first session past its warm-up: the others are near it
        await _speak(conn, speech, quiet, cycles=cycles - WARM_UP_CYCLES)


async def _speak(conn: Connection, speech: list[str], quiet: list[str], *, cycles: int) -> None:
    async with replies_done(conn) as done:
        for _ in range(cycles):
            done.clear()
            await _paced(conn, speech)
            async with asyncio.timeout(60):
                await done.wait()
            await _paced(conn, quiet)


async def _paced(conn: Connection, chunks: list[str]) -> None:
    """Chunks at the pace of speech, as a client's microphone sends them."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index, chunk in enumerate(chunks):
        await conn.receive(chunk)
        await asyncio.sleep(max(0.0, start + (index + 1) * CHUNK_MS / 1000 - loop.time()))


def main() -> None:
    sessions = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    figures = asyncio.run(measure(sessions, max(cycles, WARM_UP_CYCLES + 1)))
    print(
        f"{figures['sessions']} sessions: heap per session "
        f"{figures['mean_kib_per_session']:.0f} KiB mean, "
        f"{figures['max_kib_per_session']:.0f} KiB at most ({figures['samples']} samples)"
    )
    print("| KiB a session | file (5 s into the sampling) |\n|---:|---|")
    for filename, kib in figures["by_file"]:  # type: ignore[attr-defined]
        print(f"| {kib:.1f} | {filename} |")


if __name__ == "__main__":
    main()
