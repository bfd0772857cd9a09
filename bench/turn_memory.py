"""``python -m bench.turn_memory [TURNS]``: what one session keeps per turn, and where.

One session through the core and the Bedrock provider (real SDK, real HTTP/2) against the
emulator, all in this process, turn after turn of spoken audio as fast as the emulator
answers. ``tracemalloc`` compares the heap after a warm-up of 20 turns with the heap
after TURNS more, by file: the growth a soak measures as RSS, explained line by line.
"""

from __future__ import annotations

import asyncio
import gc
import sys
import tempfile
import tracemalloc

from bench.in_process import appends, replies_done, sonic_model
from rtcore.gateway import Gateway
from rtcore.plugins import load_plugins
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm

WARM_UP_TURNS = 20


async def measure(turns: int) -> None:
    tracemalloc.start(10)
    async with NovaSonicEmulator(cert_dir=tempfile.mkdtemp(), realtime_factor=0.0) as emu:
        model = sonic_model(emu.endpoint, emu.ca_file)
        gateway = Gateway([model], load_plugins().providers(), max_message_bytes=1 << 20)
        pcm = utterance_pcm(0)
        chunks = appends(pcm, 3200)
        try:
            async with gateway.connect(model) as conn, replies_done(conn) as done:

                async def turn() -> None:
                    done.clear()
                    for chunk in chunks:
                        await conn.receive(chunk)
                    await asyncio.wait_for(done.wait(), 20)

                for _ in range(WARM_UP_TURNS):
                    await turn()
                gc.collect()
                before = tracemalloc.take_snapshot()
                for _ in range(turns):
                    await turn()
                gc.collect()
                after = tracemalloc.take_snapshot()
        finally:
            await gateway.aclose()
    diff = after.compare_to(before, "filename")
    growth = sum(d.size_diff for d in diff)
    per_turn = growth / turns
    print(f"{turns} turns after {WARM_UP_TURNS}: +{growth / 1024:.1f} KiB, {per_turn:.0f} B a turn")
    print("| KiB | blocks | file |\n|---:|---:|---|")
    for d in diff[:12]:
        print(f"| {d.size_diff / 1024:.1f} | {d.count_diff} | {d.traceback[0].filename} |")


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
