"""``python -m bench --keys [--sessions N] [--database-url URL]`` (or ``python -m bench.keys``):
what a virtual key costs.

One ``rtcore serve`` (the echo provider of the test plugin, so that only rtcore's own work
is measured) with a master key and its key store. In the same run, alternating so that
the machine's noise falls on both alike:

- session set-up: WebSocket connect to ``session.created``, N times with the master key and
  N times with a virtual key (the key's admission, lease and, at the end, its record);
- the audio path: a session streams the same audio chunks with either key, and the
  server's CPU time per chunk is compared (the virtual key must add nothing per chunk).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import websockets

from bench import procs

MASTER = "sk-bench-master"
CONFIG = f"""\
model_list:
  - model_name: echo
    litellm_params: {{model: echo/echo-1}}
    model_info: {{mode: realtime}}
general_settings:
  master_key: {MASTER}
"""
ROUNDS = 5
CHUNKS = 40000
CHUNK = json.dumps(
    {"type": "input_audio_buffer.append", "audio": base64.b64encode(bytes(3200)).decode()}
)


def start(workdir: Path, database_url: str | None) -> tuple[subprocess.Popen[str], int]:
    config = workdir / "config.yaml"
    config.write_text(CONFIG)
    args = [str(Path(sys.executable).parent / "rtcore"), "serve", "--config", str(config)]
    args += ["--port", "0"] + (["--database-url", database_url] if database_url else [])
    env = {**os.environ, "XDG_DATA_HOME": str(workdir)}
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "listening on ws://" in line:
            port = int(line.split("listening on ws://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
            return proc, port
    raise SystemExit("rtcore serve did not start")


async def set_up(port: int, key: str) -> float:
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=echo"
    started = time.perf_counter()
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await ws.recv()  # session.created
        took = time.perf_counter() - started
    return took * 1000


async def stream(port: int, key: str, pid: int, chunks: int) -> float:
    """Server CPU microseconds per audio chunk over one session."""
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=echo"
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await ws.recv()
        await ws.send(json.dumps({"type": "session.update", "session": {"turn_detection": None}}))
        before = procs.sample([pid]).cpu
        for _ in range(chunks):
            await ws.send(CHUNK)
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        async with asyncio.timeout(30):
            while json.loads(await ws.recv())["type"] != "input_audio_buffer.cleared":
                pass
        return (procs.sample([pid]).cpu - before) / chunks * 1e6


async def main(sessions: int, chunks: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        proc, port = start(Path(workdir), database_url)
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    f"http://127.0.0.1:{port}/key/generate",
                    json={"key_alias": "bench"},
                    headers={"Authorization": f"Bearer {MASTER}"},
                ) as response,
            ):
                virtual = (await response.json())["key"]
            keys = {"master key": MASTER, "virtual key": virtual}
            setup: dict[str, list[float]] = {name: [] for name in keys}
            for _ in range(sessions):
                for name, key in keys.items():
                    setup[name].append(await set_up(port, key))
            cpu: dict[str, list[float]] = {name: [] for name in keys}
            for _ in range(ROUNDS):
                for name, key in keys.items():
                    cpu[name].append(await stream(port, key, proc.pid, chunks))
        finally:
            proc.terminate()
            proc.wait(10)
    store = "PostgreSQL" if database_url else "SQLite"
    print(f"session set-up, {sessions} each, alternating ({store} key store):")
    print("| key | median ms | p95 ms |\n|---|---:|---:|")
    for name, values in setup.items():
        p95 = statistics.quantiles(values, n=20)[18]
        print(f"| {name} | {statistics.median(values):.2f} | {p95:.2f} |")
    added = statistics.median(setup["virtual key"]) - statistics.median(setup["master key"])
    print(f"added by the virtual key: {added:+.2f} ms (median)")
    print(f"\naudio path, server CPU per chunk ({chunks} chunks x {ROUNDS} sessions each):")
    print("| key | median µs per chunk |\n|---|---:|")
    for name, values in cpu.items():
        print(f"| {name} | {statistics.median(values):.1f} |")
    ratio = statistics.median(cpu["virtual key"]) / statistics.median(cpu["master key"])
    print(f"virtual / master: {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.keys")
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=CHUNKS)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asyncio.run(main(args.sessions, args.chunks, args.database_url))
