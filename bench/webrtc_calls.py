"""``python -m bench --webrtc-calls [-n N] [--rounds R]``: what WebRTC calls leave behind.

One ``rtcore serve`` (the echo model, no master key, so that no key store's pool of
connections blurs the figures; ``--max-calls N``), then R batches of N calls opened at once
from this process (aiortc, as ``bench.webrtc_load``'s clients: the microphone speaks, the
echo model answers in voice). Once a batch's calls are all up, the gateway's threads, file
descriptors and RSS are read from ``/proc``; then they end (one in two hangs up with
``DELETE``, the others close their peer connection), and the same figures are read once the
gateway's file descriptors are back where they were before any call and its threads no
more than that plus asyncio's default executor (aiortc encodes there; its workers start on
demand and stay), and the collection of what ended calls left in cycles has had time to run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from bench import procs, run, targets
from bench.webrtc_load import Counts, Microphone
from rtcore_webrtc.reclaim import INTERVAL_SECONDS, SETTLE_SECONDS

EXECUTOR_THREADS = min(32, (os.cpu_count() or 1) + 4)
RETURN_LIMIT_SECONDS = 60.0
CALL_LIMIT_SECONDS = 120.0


async def start(workdir: Path, max_calls: int) -> tuple[asyncio.subprocess.Process, int]:
    rtcore = str(Path(sys.executable).parent / "rtcore")
    port = targets.free_port()
    args = [rtcore, "serve", "--provider", "echo", "--port", str(port)]
    args += ["--max-calls", str(max_calls), "--log-level", "warning"]
    log = (workdir / "rtcore.log").open("wb")
    proc = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log, cwd=workdir)
    await targets.wait_http(port, "/health", proc, 30)
    return proc, port


class Call:
    """One client: the offer posted, the events channel open and ``session.created`` read."""

    def __init__(self, port: int, counts: Counts) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.pc = RTCPeerConnection()
        self.pc.addTrack(Microphone(counts))
        self.channel = self.pc.createDataChannel("oai-events")
        self.created = asyncio.Event()
        self.opened = asyncio.Event()
        self.location = ""
        self._draining: list[asyncio.Task[None]] = []
        self.channel.on("open", self.opened.set)

        @self.channel.on("message")
        def _message(message: str) -> None:
            kind = json.loads(message)["type"]
            if kind == "session.created":
                self.created.set()
            elif kind == "response.done":
                counts.replies += 1
            elif kind == "error":
                counts.errors += 1

        self.pc.on(
            "track", lambda track: self._draining.append(asyncio.ensure_future(_drain(track)))
        )

    async def open(self, http: aiohttp.ClientSession) -> None:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        async with http.post(
            f"{self.base}/v1/realtime/calls?model=echo",
            data=self.pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp"},
        ) as answer:
            body = await answer.text()
            if answer.status != 201:
                raise SystemExit(f"call refused: {answer.status} {body}")
            self.location = answer.headers["Location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))
        await self.created.wait()
        await self.opened.wait()

    async def end(self, http: aiohttp.ClientSession, hang_up: bool) -> None:
        if hang_up:
            async with http.delete(self.base + self.location) as answer:
                if answer.status != 200:
                    raise SystemExit(f"hang-up refused: {answer.status} {await answer.text()}")
        await self.pc.close()
        for task in self._draining:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _drain(track: MediaStreamTrack) -> None:
    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


async def batch(port: int, pid: int, calls: int, counts: Counts) -> dict[str, Any]:
    """N calls up at once, the figures read; then ended."""
    async with aiohttp.ClientSession() as http:
        peers = [Call(port, counts) for _ in range(calls)]
        try:
            async with asyncio.timeout(CALL_LIMIT_SECONDS):
                await asyncio.gather(*(peer.open(http) for peer in peers))
            # Long enough for every microphone's first tone to be answered.
            await asyncio.sleep(2.0)
            live = procs.resources(pid)
        finally:
            await asyncio.gather(
                *(peer.end(http, hang_up=index % 2 == 0) for index, peer in enumerate(peers))
            )
    return {"live": asdict(live)}


async def settled(pid: int) -> procs.Resources:
    """The gateway's figures once still (the harness's own readiness probe closed)."""
    last = procs.resources(pid)
    while True:
        await asyncio.sleep(0.5)
        now = procs.resources(pid)
        if (now.threads, now.fds) == (last.threads, last.fds):
            return now
        last = now


async def returned(pid: int, cold: procs.Resources) -> float | None:
    """Seconds until the gateway's descriptors are back to ``cold`` and its threads within the
    executor's pool of it; None if they are not within ``RETURN_LIMIT_SECONDS``."""
    began = time.monotonic()
    while True:
        now = procs.resources(pid)
        if now.fds == cold.fds and now.threads <= cold.threads + EXECUTOR_THREADS:
            return round(time.monotonic() - began, 1)
        if time.monotonic() - began > RETURN_LIMIT_SECONDS:
            return None
        await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    out = run.output_path(args)
    from rtcore_webrtc.ice import gather_on

    gather_on("127.0.0.1")
    counts = Counts()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-calls-") as tmp:
        proc, port = await start(Path(tmp), args.sessions)
        try:
            cold = await settled(proc.pid)
            for index in range(args.rounds):
                print(f"batch {index + 1}/{args.rounds}: {args.sessions} calls", file=sys.stderr)
                row = await batch(port, proc.pid, args.sessions, counts)
                row["return_s"] = await returned(proc.pid, cold)
                # Then the collection of what ended calls left in cycles.
                await asyncio.sleep(SETTLE_SECONDS + INTERVAL_SECONDS + 1.0)
                row["ended"] = asdict(procs.resources(proc.pid))
                rows.append(row)
        finally:
            await targets.stop_process(proc)
    report: dict[str, Any] = {
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": run.machine(),
        "calls_per_batch": args.sessions,
        "batches": args.rounds,
        "cold": asdict(cold),
        "batches_figures": rows,
        "replies": counts.replies,
        "errors": counts.errors,
    }
    out.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"\nJSON: {out}")
    return report


def _seconds(value: float | None) -> str:
    return f"{value:g} s" if value is not None else f"not in {RETURN_LIMIT_SECONDS:g} s"


def _mb(value: int) -> str:
    return f"{value / 2**20:.1f}"


def table(report: dict[str, Any]) -> str:
    cold = report["cold"]
    lines = [
        f"rtcore serve (echo model), {report['batches']} batches of "
        f"{report['calls_per_batch']} WebRTC calls; replies {report['replies']}, "
        f"errors {report['errors']}",
        "",
        "| | calls so far | threads | fds | RSS MB | back in |",
        "|---|---|---|---|---|---|",
        f"| before any call | 0 | {cold['threads']} | {cold['fds']} | {_mb(cold['rss'])} | |",
    ]
    for index, row in enumerate(report["batches_figures"]):
        done = (index + 1) * report["calls_per_batch"]
        live, ended = row["live"], row["ended"]
        lines.append(
            f"| batch {index + 1}, calls up | {done} | {live['threads']} | {live['fds']} | "
            f"{_mb(live['rss'])} | |"
        )
        lines.append(
            f"| batch {index + 1}, ended | {done} | {ended['threads']} | {ended['fds']} | "
            f"{_mb(ended['rss'])} | {_seconds(row['return_s'])} |"
        )
    return "\n".join(lines)
