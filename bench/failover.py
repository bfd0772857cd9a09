"""``python -m bench --failover``: what a mid-session failover costs the caller and the gateway.

One OpenAI Realtime emulator (the real provider and the openai SDK behind ``rtcore serve``)
serves two deployments of one model name. In the *failover* phases every upstream
connection closes with 4000 right after the first audio of its second reply (the emulator's
``close=4000@2``; the provider takes a 4000 as fatal, so the session moves to the other
deployment, and back at the next failure, each time the cooling one being the only one
left). In the *steady* phases nothing fails. Phases alternate in ABBA order, each on a
fresh gateway.

The N clients do the same in both: each cycle they speak one utterance; the reply to it is
cut after its first audio (steady: the client cancels it; failover: the upstream fails and
the gateway fails the reply once); on that reply's ``response.done`` the client asks again
(``response.create``). The figures:

- **gap** (client side, per cut): from the last audio of the cut reply to the first audio of
  the reply asked again. In the failover phases this holds the switch: the gateway fails
  the reply only once the new upstream is open, and the client's ``response.create`` waits
  until the conversation is replayed there. The steady phases' gap is the baseline (a
  cancel and a fresh reply with no move); what the switch adds is the difference.
- **server gap**: each move's own time as the gateway logs it ("session moved ... in X s",
  the same figure as ``rtcore_upstream_switch_gap_seconds``): opening the new upstream,
  replaying the conversation and the unanswered speech.
- **CPU**: the gateway's CPU seconds per session-minute of each phase (from /proc), and the
  failover phases' CPU beyond the steady median, per switch: what a move costs the gateway
  (closing the old upstream, opening the new one, the replay), beyond the same
  conversation with no move.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench import abba, procs, run, targets
from bench import speech as sig

KINDS = ("steady", "failover")
FAULT = "close=4000@2"
# Room in each cycle for the cut, the switch and the reply asked again before the next
# utterance: a reply that overlapped it would be interrupted by the user's own speech.
SWITCH_ROOM_SECONDS = 2.5
GAP_BUCKETS = ("0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf")
_MOVED = re.compile(r"session moved from (\S+) \(.*?\) to (\S+) \(.*?\) in ([0-9.]+) s")


@dataclass
class Client:
    """One session's counts and the gaps it measured (seconds)."""

    gaps: list[float] = field(default_factory=list)
    notices: list[float] = field(default_factory=list)  # last audio to the cut reply's done
    cuts: int = 0
    errors: list[str] = field(default_factory=list)
    failed_replies: int = 0
    replies: int = 0
    closed_early: str | None = None


class _Turns:
    """The client's side of the cycle: cut the reply to a turn, ask again, time the gap."""

    def __init__(self, cancel: bool) -> None:
        self.cancel = cancel  # cut replies to turns itself (steady) or let the move cut them
        self.last_audio: dict[str, float] = {}  # per reply: when its last audio came
        self.asked = False  # a response.create is out, its reply not started yet
        self.again_id: str | None = None  # the reply asked again, until its first audio
        self.cut_at = 0.0  # the last audio of the reply cut last


async def _session(
    url: str, number: int, cycle: sig.Cycle, seconds: float, cancel: bool, record: Client
) -> None:
    import aiohttp

    session = {
        "modalities": ["audio", "text"],
        "instructions": "You are a helpful assistant.",
        "voice": "alloy",
        "input_audio_format": "pcm16",
        "output_audio_format": "pcm16",
        "turn_detection": {
            "type": "server_vad",
            "silence_duration_ms": round(sig.ENDPOINT_SECONDS * 1000),
        },
    }
    turns = _Turns(cancel)
    timeout = aiohttp.ClientWSTimeout(ws_close=5.0)
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(url, max_msg_size=0, compress=0, timeout=timeout) as ws,
    ):
        await ws.send_str(json.dumps({"type": "session.update", "session": session}))

        async def read() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    await _event(ws, json.loads(message.data), time.monotonic(), turns, record)
            if ws.close_code not in (None, 1000):
                record.closed_early = f"closed {ws.close_code}"

        reader = asyncio.create_task(read())
        # Whole cycles only: a session's last reply (cut, moved, asked again) ends before it
        # does, so the client sees every move the server makes.
        length = max(1, int(seconds // cycle.seconds)) * cycle.seconds
        began = time.monotonic()
        seq = 0
        try:
            while seq * sig.CHUNK_MS / 1000 < length and not reader.done():
                delay = began + seq * sig.CHUNK_MS / 1000 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                audio = sig.chunk_b64(cycle, number, seq).decode()
                await ws.send_str(json.dumps({"type": "input_audio_buffer.append", "audio": audio}))
                seq += 1
        finally:
            await ws.close()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


async def _event(ws: Any, event: dict[str, Any], at: float, turns: _Turns, record: Client) -> None:
    kind = event.get("type")
    if kind == "error":
        record.errors.append(str(event.get("error", {}).get("code")))
        return
    response = event.get("response") or {}
    rid = str(response.get("id") or event.get("response_id"))
    if kind == "response.created":
        if turns.asked:
            turns.asked, turns.again_id = False, rid
    elif kind in ("response.output_audio.delta", "response.audio.delta"):
        first = rid not in turns.last_audio
        turns.last_audio[rid] = at
        if first and rid == turns.again_id:
            if turns.cut_at:
                record.gaps.append(at - turns.cut_at)
            turns.again_id = None
        elif first and turns.cancel:
            await ws.send_str(json.dumps({"type": "response.cancel"}))
    elif kind == "response.done":
        last = turns.last_audio.pop(rid, 0.0)
        if response.get("status") == "completed":
            record.replies += 1
        elif last:
            # Cut after some of it was heard (cancelled by the client, or failed by a
            # move): asked again at once.
            record.cuts += 1
            record.failed_replies += response.get("status") == "failed"
            record.notices.append(at - last)
            turns.cut_at, turns.asked = last, True
            await ws.send_str(json.dumps({"type": "response.create"}))


def _config(emulator: targets.Emulator) -> dict[str, Any]:
    """Two deployments of the model ``bench`` on the one emulator."""
    params = {
        "model": f"openai/{targets.OPENAI_MODEL_ID}",
        "api_base": emulator.endpoint,
        "api_key": targets.OPENAI_API_KEY,
    }
    return {
        "model_list": [
            {"model_name": "bench", "litellm_params": params, "model_info": {"id": name}}
            for name in ("bench-a", "bench-b")
        ]
    }


async def _gateway(emulator: targets.Emulator, workdir: Path, name: str) -> targets.Gateway:
    path = workdir / "rtcore-failover.yaml"
    path.write_text(yaml.safe_dump(_config(emulator)))
    port = targets.free_port()
    command = [str(Path(sys.executable).parent / "rtcore"), "serve", "--config", str(path)]
    command += ["--port", str(port), "--log-level", "warning"]
    log = (workdir / f"{name}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(*command, stdout=log, stderr=log, cwd=workdir)
    gateway = targets.Gateway("rtcore", proc, port)
    await targets.wait_http(port, "/health", proc, 30)
    gateway.url = (
        f"ws://127.0.0.1:{port}/v1/realtime?model=bench&input_audio_rate={sig.OPENAI_RATE}"
    )
    return gateway


async def _scrape(port: int) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/metrics") as r:
        return await r.text()


def _metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


async def phase(
    kind: str,
    emulators: dict[str, targets.Emulator],
    args: argparse.Namespace,
    cycle: sig.Cycle,
    workdir: Path,
    index: int,
) -> dict[str, Any]:
    name = f"{kind}-{index}"
    gateway = await _gateway(emulators[kind], workdir, name)
    sampler = procs.Sampler({"gateway": [gateway.proc.pid]})
    sampling = asyncio.create_task(sampler.run())
    records = [Client() for _ in range(args.sessions)]
    try:
        start = time.monotonic()
        results = await asyncio.gather(
            *(
                _session(gateway.url, n, cycle, args.seconds, kind == "steady", records[n])
                for n in range(args.sessions)
            ),
            return_exceptions=True,
        )
        end = time.monotonic()
        metrics = await _scrape(gateway.port)
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
        await gateway.stop()
    failures = [repr(r)[:200] for r in results if isinstance(r, BaseException)]
    cpu, wall, _ = sampler.window("gateway", start, end)
    minutes = args.sessions * (end - start) / 60
    log = (workdir / f"{name}.log").read_text(errors="replace")
    moves = [float(m.group(3)) for m in _MOVED.finditer(log)]
    return {
        "kind": kind,
        "cpu_s": cpu * (end - start) / wall if wall else 0.0,
        "session_minutes": minutes,
        "cpu_s_per_session_min": cpu * (end - start) / wall / minutes if wall else 0.0,
        "gaps_s": [g for r in records for g in r.gaps],
        "notices_s": [g for r in records for g in r.notices],
        "cuts": sum(r.cuts for r in records),
        "failed_replies": sum(r.failed_replies for r in records),
        "replies": sum(r.replies for r in records),
        "errors": [e for r in records for e in r.errors],
        "closed_early": [r.closed_early for r in records if r.closed_early] + failures,
        "server_gaps_s": moves,
        "switches_total": _metric(metrics, "rtcore_upstream_switches_total", reason="failover"),
        "switch_gap_count": _metric(
            metrics, "rtcore_upstream_switch_gap_seconds_count", reason="failover"
        ),
        "switch_gap_sum_s": _metric(
            metrics, "rtcore_upstream_switch_gap_seconds_sum", reason="failover"
        ),
        "switch_gap_buckets": {
            le: _metric(
                metrics, "rtcore_upstream_switch_gap_seconds_bucket", le=le, reason="failover"
            )
            for le in GAP_BUCKETS
        },
    }


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "count": len(ordered),
        "p50": statistics.median(ordered) * 1000,
        "p99": p99 * 1000,
        "max": ordered[-1] * 1000,
    }


async def main(args: argparse.Namespace, rounds: int = 2) -> dict[str, Any]:
    out = run.output_path(args)
    rate = sig.OPENAI_RATE
    speech = (sig.LEAD_CHUNKS + sig.TONE_CHUNKS) * sig.CHUNK_MS / 1000
    needed = speech + sig.ENDPOINT_SECONDS + sig.reply_seconds() + 0.6 + SWITCH_ROOM_SECONDS
    cycle = sig.build_cycle(needed, rate)
    phases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-failover-") as tmp:
        workdir = Path(tmp)
        emulators = {
            "steady": await targets.Emulator.start(workdir / "certs", provider="openai"),
            "failover": await targets.Emulator.start(
                workdir / "certs", provider="openai", faults=[FAULT]
            ),
        }
        try:
            for index, kind in abba.phases(KINDS, rounds):
                print(
                    f"failover {kind} (round {index + 1}/{rounds}): {args.sessions} sessions "
                    f"for {args.seconds:g} s",
                    file=sys.stderr,
                )
                phases.append(await phase(kind, emulators, args, cycle, workdir, index))
        finally:
            for emulator in emulators.values():
                await emulator.stop()
    report = figures(phases)
    report.update(
        command=" ".join(["python -m bench", *sys.argv[1:]]),
        machine=run.machine(),
        sessions=args.sessions,
        seconds=args.seconds,
        rounds=rounds,
        cycle_s=cycle.seconds,
        fault=FAULT,
        phases=phases,
    )
    out.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"\nJSON: {out}")
    return report


def figures(phases: list[dict[str, Any]]) -> dict[str, Any]:
    by = {kind: [p for p in phases if p["kind"] == kind] for kind in KINDS}
    cpu = {kind: [p["cpu_s_per_session_min"] for p in rows] for kind, rows in by.items()}
    steady_cpu = statistics.median(cpu["steady"])
    per_switch = [
        (p["cpu_s"] - steady_cpu * p["session_minutes"]) / p["switches_total"] * 1000
        for p in by["failover"]
        if p["switches_total"]
    ]
    gap = {kind: _summary([g for p in rows for g in p["gaps_s"]]) for kind, rows in by.items()}
    notice = {
        kind: _summary([g for p in rows for g in p["notices_s"]]) for kind, rows in by.items()
    }
    buckets = {le: sum(p["switch_gap_buckets"][le] for p in by["failover"]) for le in GAP_BUCKETS}
    added = {
        q: None
        if gap["failover"][q] is None or gap["steady"][q] is None
        else float(gap["failover"][q] or 0) - float(gap["steady"][q] or 0)
        for q in ("p50", "p99")
    }
    switches = sum(p["switches_total"] for p in by["failover"])
    gap_sum = sum(p["switch_gap_sum_s"] for p in by["failover"])
    return {
        "gap_ms": gap,
        "gap_added_ms": added,
        "notice_ms": notice,
        "switch_gap_buckets": buckets,
        "switch_gap_p50_bucket": _bucket(buckets, 0.5),
        "switch_gap_p99_bucket": _bucket(buckets, 0.99),
        "server_gap_ms": _summary([g for p in by["failover"] for g in p["server_gaps_s"]]),
        "server_gap_mean_ms": gap_sum / switches * 1000 if switches else None,
        "switches": switches,
        "cuts": {kind: sum(p["cuts"] for p in rows) for kind, rows in by.items()},
        "failed_replies": {
            kind: sum(p["failed_replies"] for p in rows) for kind, rows in by.items()
        },
        "errors": {kind: sum(len(p["errors"]) for p in rows) for kind, rows in by.items()},
        "closed_early": [c for p in phases for c in p["closed_early"]],
        "cpu_s_per_session_min": cpu,
        "median_steady": steady_cpu,
        "median_failover": statistics.median(cpu["failover"]),
        "ratio_failover_steady": statistics.median(cpu["failover"]) / steady_cpu
        if steady_cpu
        else None,
        "cpu_ms_per_switch": statistics.median(per_switch) if per_switch else None,
    }


def _bucket(buckets: dict[str, float], q: float) -> str | None:
    """The histogram's upper bound (seconds) at or below which a fraction ``q`` falls."""
    total = buckets.get("+Inf", 0.0)
    for le in GAP_BUCKETS:
        if total and buckets[le] >= q * total:
            return le
    return None


def _ms(summary: dict[str, Any]) -> str:
    if not summary["count"]:
        return "–"
    p50, p99, top = summary["p50"], summary["p99"], summary["max"]
    return f"{p50:.0f} / {p99:.0f} (max {top:.0f}, n={summary['count']})"


def table(report: dict[str, Any]) -> str:
    gap, added = report["gap_ms"], report["gap_added_ms"]
    cpu = report["cpu_s_per_session_min"]
    lines = [
        f"failover: {report['sessions']} sessions x {report['seconds']:g} s, "
        f"{report['rounds']} rounds each (ABBA order), {report['switches']:.0f} switches "
        f"({report['fault']}, two deployments on the OpenAI Realtime emulator)",
        "  gap, last audio of the cut reply to first audio of the reply asked again, p50 / p99 ms:",
        f"    steady (client cancels, no move): {_ms(gap['steady'])}",
        f"    failover (upstream fails, move):  {_ms(gap['failover'])}",
    ]
    if added["p50"] is not None:
        lines.append(f"    added by the move: {added['p50']:.0f} / {added['p99']:.0f}")
    notice = report["notice_ms"]
    lines += [
        "  notice, last audio of the cut reply to its response.done, p50 / p99 ms:",
        f"    steady: {_ms(notice['steady'])}",
        f"    failover: {_ms(notice['failover'])}",
        "  server gap (each move as logged, 10 ms steps) p50 / p99 ms: "
        + _ms(report["server_gap_ms"]),
    ]
    if report["server_gap_mean_ms"] is not None:
        lines.append(
            f"  rtcore_upstream_switch_gap_seconds: mean {report['server_gap_mean_ms']:.1f} ms, "
            f"p50 <= {report['switch_gap_p50_bucket']} s, "
            f"p99 <= {report['switch_gap_p99_bucket']} s"
        )
    lines += [
        "  rtcore CPU s per session-minute:",
        f"    steady:   {', '.join(f'{v:.3f}' for v in cpu['steady'])}"
        f"  median {report['median_steady']:.3f}",
        f"    failover: {', '.join(f'{v:.3f}' for v in cpu['failover'])}"
        f"  median {report['median_failover']:.3f}",
    ]
    if report["ratio_failover_steady"] is not None:
        lines.append(f"  failover / steady: {report['ratio_failover_steady']:.2f}")
    if report["cpu_ms_per_switch"] is not None:
        lines.append(f"  CPU per switch beyond steady: {report['cpu_ms_per_switch']:.1f} ms")
    lines.append(
        f"  cuts: {report['cuts']}, failed replies: {report['failed_replies']}, "
        f"error events: {report['errors']}, sessions closed early: {len(report['closed_early'])}"
    )
    return "\n".join(lines)
