"""``python -m bench --mcp``: the audio path with an MCP server attached to every session.

The same phase as the main benchmark (N sessions streaming in real time through ``rtcore
serve`` to the Nova Sonic emulator, the real provider and SDK), with the sessions set up in
the GA shape either way: *without* tools, or *with* an MCP server among their tools (a
FastMCP server on loopback, bench/mcp_tools.py, started by the bench; the gateway connects
to it and lists its tools when each session is configured, before the window, and offers
them to the model). The emulator's scripted reply to the benchmark's utterance calls no
tool: what is measured is what an attached server costs the audio path. Phases alternate in
ABBA order, each on a fresh gateway. The figures: time to first audio (p50), upstream chunk
latency (p50, p99) and the gateway's CPU seconds per session-minute; the median of the
rounds of each, and their ratio (with / without).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import abba, run, targets

KINDS = ("without", "with")
LATENCIES = {
    "first_audio_p50_ms": ("ttfa_ms", "p50"),
    "up_p50_ms": ("up_ms", "p50"),
    "up_p99_ms": ("up_ms", "p99"),
}


async def start_server() -> tuple[asyncio.subprocess.Process, str]:
    """The MCP server, and its URL once it serves."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.mcp_tools",
        cwd=targets.REPO,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    port = None
    try:
        async with asyncio.timeout(60):
            while (line := (await proc.stdout.readline()).decode().strip()) != "ready":
                if not line:
                    raise SystemExit("bench --mcp: the MCP server exited before serving")
                name, _, value = line.partition(" ")
                if name == "http":
                    port = int(value)
    except BaseException:
        await targets.stop_process(proc)
        raise
    assert port is not None
    return proc, f"http://127.0.0.1:{port}/mcp"


async def main(args: argparse.Namespace, rounds: int = 4) -> dict[str, Any]:
    out = run.output_path(args)  # checked before the run
    cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}
    latency: dict[str, dict[str, list[float]]] = {
        kind: {name: [] for name in LATENCIES} for kind in KINDS
    }
    realtime: dict[str, list[bool]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-mcp-") as tmp:
        workdir = Path(tmp)
        server, url = await start_server()
        try:
            emulator = await targets.Emulator.start(workdir / "certs", loop=args.loop)
            try:
                for index, kind in abba.phases(KINDS, rounds):
                    print(
                        f"MCP {kind} (round {index + 1}/{rounds}): "
                        f"{args.sessions} sessions for {args.seconds:g} s",
                        file=sys.stderr,
                    )
                    gateway = await targets.start_rtcore(
                        emulator, workdir, workers=1, options={}, loop=args.loop
                    )
                    try:
                        phase = await run.run_phase(
                            "rtcore",
                            args.sessions,
                            args.seconds,
                            emulator,
                            gateway,
                            workdir,
                            loop=args.loop,
                            session={"ga": True, "mcp_url": url if kind == "with" else None},
                        )
                    finally:
                        await gateway.stop()
                    if "failed" in phase:
                        raise SystemExit(f"MCP {kind}: {phase['failed']}")
                    if phase["errors"]:
                        raise SystemExit(f"MCP {kind}: {phase['error_samples']}")
                    cpu[kind].append(phase["cpu_s_per_session_min"])
                    for name, (figure, stat) in LATENCIES.items():
                        value = phase[figure][stat]
                        if value is not None:
                            latency[kind][name].append(value)
                    realtime[kind].append(bool(phase.get("realtime")))
            finally:
                await emulator.stop()
        finally:
            await targets.stop_process(server)
    medians = {
        kind: {
            name: statistics.median(values) if values else None
            for name, values in latency[kind].items()
        }
        for kind in KINDS
    }
    ratios: dict[str, float | None] = {}
    for name in LATENCIES:
        w, wo = medians["with"][name], medians["without"][name]
        ratios[name] = w / wo if w is not None and wo else None
    return abba.report(
        args,
        out,
        rounds,
        cpu,
        table,
        realtime=realtime,
        latency=latency,
        latency_medians=medians,
        latency_ratios_with_without=ratios,
    )


def table(report: dict[str, Any]) -> str:
    rows = report["cpu_s_per_session_min"]
    medians = report["latency_medians"]
    ratios = report["latency_ratios_with_without"]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}"

    def times(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [
        f"rtcore with and without an MCP server attached, {report['sessions']} sessions x "
        f"{report['seconds']:g} s, {report['rounds']} rounds each (ABBA order)",
        f"{'':24}{'without':>10}{'with':>10}{'with/without':>14}",
    ]
    for name in LATENCIES:
        lines.append(
            f"  {name:22}{ms(medians['without'][name]):>10}{ms(medians['with'][name]):>10}"
            f"{times(ratios[name]):>14}"
        )
    lines.append(
        f"  {'cpu_s_per_session_min':22}{report['median_without']:>10.4f}"
        f"{report['median_with']:>10.4f}{times(report['ratio_with_without']):>14}"
    )
    lines.append(
        "  CPU by round: without "
        + ", ".join(f"{v:.4f}" for v in rows["without"])
        + "; with "
        + ", ".join(f"{v:.4f}" for v in rows["with"])
    )
    held = {kind: sum(flags) for kind, flags in report["realtime"].items()}
    lines.append(
        f"  phases in real time: without {held['without']}/{report['rounds']}, "
        f"with {held['with']}/{report['rounds']}"
    )
    return "\n".join(lines)
