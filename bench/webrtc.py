"""``python -m bench --webrtc [-n N] [--seconds S] [--rounds R]``: what a WebRTC session
costs the gateway against a WebSocket session, in one run.

One ``rtcore serve`` (the echo model of the test plugin, so that only rtcore's own work is
measured, not a provider's); N clients at a time of one kind (``bench.webrtc_load``, its
own process) speak in real time for S seconds; rounds alternate the kinds in ABBA order.
The figure is the gateway's CPU seconds per session-minute over each phase's streaming
window (from /proc), the median of each kind, and their ratio. WebRTC adds Opus decoding
and encoding, DTLS and SRTP, and RTP pacing, all in the gateway's process (aiortc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import abba, procs, run, targets

KINDS = ("websocket", "webrtc")


async def start(workdir: Path) -> tuple[asyncio.subprocess.Process, int]:
    rtcore = str(Path(sys.executable).parent / "rtcore")
    port = targets.free_port()
    args = [rtcore, "serve", "--provider", "echo", "--port", str(port), "--log-level", "warning"]
    log = (workdir / "rtcore.log").open("wb")
    proc = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log, cwd=workdir)
    await targets.wait_http(port, "/health", proc, 30)
    return proc, port


async def phase(
    kind: str, port: int, pid: int, sessions: int, seconds: float, workdir: Path
) -> dict[str, Any]:
    out = workdir / f"{kind}-{id(object())}.json"
    load = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.webrtc_load",
        kind,
        str(port),
        str(sessions),
        str(seconds),
        str(out),
        cwd=run.RESULTS.parent.parent,
    )
    sampler = procs.Sampler({"gateway": [pid]})
    sampling = asyncio.create_task(sampler.run())
    try:
        async with asyncio.timeout(seconds + 120):
            code = await load.wait()
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    if code != 0:
        raise SystemExit(f"the {kind} load generator exited with {code}")
    result: dict[str, Any] = json.loads(await asyncio.to_thread(out.read_text))
    start_, end = result["window"]
    cpu, wall, _ = sampler.window("gateway", start_, end)
    minutes = sessions * (end - start_) / 60
    result["cpu_s_per_session_min"] = cpu * (end - start_) / wall / minutes if wall else None
    return result


async def main(args: argparse.Namespace, rounds: int = 4) -> dict[str, Any]:
    out = run.output_path(args)
    figures: dict[str, list[float]] = {kind: [] for kind in KINDS}
    counts: dict[str, list[dict[str, int]]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-webrtc-") as tmp:
        workdir = Path(tmp)
        proc, port = await start(workdir)
        try:
            for index, kind in abba.phases(KINDS, rounds):
                print(
                    f"{kind} (round {index + 1}/{rounds}): {args.sessions} sessions for "
                    f"{args.seconds:g} s",
                    file=sys.stderr,
                )
                result = await phase(kind, port, proc.pid, args.sessions, args.seconds, workdir)
                figures[kind].append(result["cpu_s_per_session_min"])
                counts[kind].append({k: result[k] for k in ("turns", "replies", "errors")})
        finally:
            await targets.stop_process(proc)
    return abba.report(args, out, rounds, figures, table, counts=counts)


def table(report: dict[str, Any]) -> str:
    rows = report["cpu_s_per_session_min"]
    lines = [
        f"rtcore CPU s per session-minute (echo model), {report['sessions']} sessions x "
        f"{report['seconds']:g} s, {report['rounds']} rounds each (ABBA order)",
    ]
    for kind in KINDS:
        values = ", ".join(f"{v:.3f}" for v in rows[kind])
        lines.append(f"  {kind:9}: {values}  median {report[f'median_{kind}']:.3f}")
    for kind in KINDS:
        replies = [c["replies"] for c in report["counts"][kind]]
        errors = sum(c["errors"] for c in report["counts"][kind])
        lines.append(f"  {kind:9} replies per phase: {replies}, errors: {errors}")
    ratio = report["ratio_webrtc_websocket"]
    if ratio is not None:
        lines.append(f"  webrtc / websocket: {ratio:.2f}")
    return "\n".join(lines)
