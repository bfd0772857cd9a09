"""One benchmark run: the emulator, then each target in turn against it, then the table."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import analyze, pinning, procs, targets
from bench.report import table

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = ("direct", "floor", "rtcore", "litellm")
# The coalescing floor: the direct SDK client batching client audio as rtcore does (its
# default 60 ms, three 20 ms chunks to an event) on a connection per session: what the SDK
# costs used as rtcore uses it, no gateway in between. Nova Sonic only.
FLOOR_BATCH_CHUNKS = 3
LITELLM_SKIPPED = {
    "gemini": "not measured for Gemini Live: the harness does not point LiteLLM's Gemini "
    "realtime route (made for Google's endpoints) at the emulator",
    "openai": "not measured for OpenAI Realtime: the harness measures LiteLLM in front of "
    "Nova Sonic only",
}


async def run_phase(
    target: str,
    sessions: int,
    seconds: float,
    emulator: targets.Emulator,
    gateway: targets.Gateway | None,
    workdir: Path,
    *,
    loop: str = "auto",
    under_test: frozenset[int] | None = None,
    session: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """N sessions for ``seconds`` against one target; the figures of that phase.
    ``under_test``: CPUs of the direct client when pinned (a gateway is pinned at start);
    ``session``: what the load generator's sessions ask beyond the usual (bench.load's
    ``ga``, ``mcp_url``)."""
    await emulator.wait_idle()
    await emulator.dump(workdir / "discard.json")  # forget earlier phases
    tag = f"{target}-{sessions}-{int(time.monotonic() * 1000)}"
    direct = target in ("direct", "floor")
    spec: dict[str, Any] = {
        "kind": "direct" if direct else "ws",
        "sessions": sessions,
        "seconds": seconds,
        "out": str(workdir / f"{tag}-load.json"),
        "endpoint": emulator.endpoint,
        "ca_file": emulator.ca_file,
        "model_id": emulator.model_id,
        "provider": emulator.provider,
        "loop": loop,
        **(session or {}),
    }
    # Gemini and OpenAI: the window opens once every session's upstream connection is up
    # (rtcore loads the SDK and opens a connection when a session first needs one), so that
    # no target's figures include that; the load generator waits for the harness's go.
    handshake = emulator.provider in targets.API_KEYS
    if handshake:
        spec["api_key"] = targets.API_KEYS[emulator.provider]
        spec["await_go"] = True
    if target == "floor":
        spec["batch_chunks"] = FLOOR_BATCH_CHUNKS
        spec["client_per_session"] = True
    if gateway is not None:
        spec["url"], spec["headers"] = gateway.url, gateway.headers
    spec_path = workdir / f"{tag}-spec.json"
    spec_path.write_text(json.dumps(spec))
    load = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.load",
        str(spec_path),
        cwd=targets.REPO,
        preexec_fn=pinning.on(under_test if direct else None),
        stdin=asyncio.subprocess.PIPE if handshake else None,
        stdout=asyncio.subprocess.PIPE if handshake else None,
    )
    groups = {"load": [load.pid], "emulator": [emulator.pid]}
    if gateway is not None:
        groups["gateway"] = [gateway.proc.pid]
    sampler = procs.Sampler(groups)
    sampling = asyncio.create_task(sampler.run())
    try:
        async with asyncio.timeout(seconds + 180):
            if handshake:
                await _go_when_open(load, emulator, sessions)
            code = await load.wait()
    except TimeoutError:
        await targets.stop_process(load)
        code = -1
    finally:
        sampling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampling
    emu = await emulator.dump(workdir / f"{tag}-emulator.json")
    if code != 0:
        return {"sessions": sessions, "failed": f"load generator exited with {code}"}
    result = json.loads(await asyncio.to_thread(Path(spec["out"]).read_text))
    figures = analyze.phase_figures(result, emu, coalescing=emulator.provider == "nova")
    start, end = result["window"]
    minutes = sessions * (end - start) / 60
    for name in groups:
        cpu, wall, peak = sampler.window(name, start, end)
        idle = sampler.before(name, start)
        figures[f"{name}_cpu_s_per_session_min"] = cpu * (end - start) / wall / minutes
        figures[f"{name}_cpu_cores"] = cpu / wall if wall else None
        figures[f"{name}_rss_peak_mb"] = peak / 2**20
        figures[f"{name}_rss_per_session_mb"] = max(0, peak - idle) / 2**20 / sessions
    # What the operator pays for: the gateway's process, or for direct the SDK client itself.
    own = "load" if direct else "gateway"
    figures["cpu_s_per_session_min"] = figures[f"{own}_cpu_s_per_session_min"]
    figures["rss_peak_mb"] = figures[f"{own}_rss_peak_mb"]
    figures["rss_per_session_mb"] = figures[f"{own}_rss_per_session_mb"]
    # Over a long phase (a soak), the process's memory minute by minute.
    figures["rss_timeline_mb"] = sampler.timeline(own, start, end, 60.0)
    return figures


async def _go_when_open(
    load: asyncio.subprocess.Process, emulator: targets.Emulator, sessions: int
) -> None:
    """Once the load generator says its sessions are ready, wait for the emulator to hold
    a connection for each, then tell it to go (it goes anyway if some never open: the
    phase's errors then say why)."""
    assert load.stdout is not None
    assert load.stdin is not None
    if (await load.stdout.readline()).strip() != b"ready":
        return  # it failed before its sessions were ready; its exit code tells
    await emulator.wait_active(sessions)
    load.stdin.write(b"go\n")
    await load.stdin.drain()


async def bisect_max(
    holds: Callable[[int], Awaitable[bool]], *, start: int, cap: int, steps: int
) -> int:
    """The largest N for which ``holds(N)``: double from ``start`` until one fails (or
    ``cap`` holds), then halve the gap; at most ``steps`` tries once a failure bounds it
    (doubling is not counted: a search out of steps before any N failed would have found
    no bound), stopping early once the gap is within 10 %."""
    passed, failed = 0, 0
    n = start
    used = 0
    while used < steps:
        if failed or n >= cap:
            used += 1
        if await holds(n):
            passed = n
            if n >= cap:
                break
            n = min(cap, n * 2) if not failed else (n + failed) // 2
        else:
            failed = n
            n = (passed + n) // 2 if passed else max(1, n // 2)
        if failed and passed and failed - passed <= max(2, passed // 10):
            break
        if failed == 1:
            break
    return passed


async def search_max(
    target: str,
    emulator: targets.Emulator,
    gateway: targets.Gateway | None,
    workdir: Path,
    *,
    start: int,
    cap: int,
    seconds: float,
    steps: int,
    trials: int = 1,
    loop: str = "auto",
    under_test: frozenset[int] | None = None,
) -> dict[str, Any]:
    """The largest N that holds real time in each of ``trials`` phases (one late chunk fails
    a phase, so a lucky phase alone can overstate what a machine holds)."""
    tried: list[dict[str, Any]] = []

    async def holds(n: int) -> bool:
        for _ in range(trials):
            figures = await run_phase(
                target, n, seconds, emulator, gateway, workdir, loop=loop, under_test=under_test
            )
            ok = bool(figures.get("realtime"))
            tried.append(
                {
                    "sessions": n,
                    "realtime": ok,
                    "up_max_ms": figures.get("up_ms", {}).get("max"),
                    "down_max_ms": figures.get("down_ms", {}).get("max"),
                    "errors": figures.get("errors"),
                }
            )
            print(f"  search {target}: N={n} {'holds' if ok else 'fails'}", file=sys.stderr)
            if not ok:
                return False
        return True

    passed = await bisect_max(holds, start=start, cap=cap, steps=steps)
    above = [t["sessions"] for t in tried if not t["realtime"] and t["sessions"] > passed]
    return {
        "max_realtime_sessions": passed,
        # The smallest N that failed above it: the bound the figure is found within.
        "fails_at": min(above) if above else None,
        "capped": passed >= cap,
        "trials": trials,
        "tried": tried,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    RESULTS.mkdir(exist_ok=True)
    output_path(args)  # before the run, not after it
    chosen = [t for t in args.targets.split(",") if t]
    pinned: pinning.Pinning | None = args.pinning
    if pinned is not None:
        pinning.apply(pinned)  # the emulator and the load generator inherit it
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-") as tmp:
        workdir = Path(tmp)
        provider = getattr(args, "provider", "nova")
        emulator = await targets.Emulator.start(
            workdir / "certs", loop=args.loop, provider=provider
        )
        report: dict[str, Any] = {
            "command": " ".join(["python -m bench", *sys.argv[1:]]),
            "machine": machine(),
            "provider": provider,
            "model": emulator.model_id,
            "sessions": args.sessions,
            "seconds": args.seconds,
            "workers": args.workers,
            "coalesce_ms": args.coalesce_ms,
            "end_of_turn_pause_ms": getattr(args, "end_of_turn_pause_ms", None),
            "loop": args.loop,
            "pinned": None
            if pinned is None
            else {"apparatus": sorted(pinned.apparatus), "under_test": sorted(pinned.under_test)},
            "targets": {},
        }
        try:
            for target in chosen:
                print(f"{target}: {args.sessions} sessions for {args.seconds:g} s", file=sys.stderr)
                report["targets"][target] = await run_target(target, emulator, workdir, args)
        finally:
            await emulator.stop()
    out = output_path(args)
    out.write_text(json.dumps(report, indent=2))
    print(table(report))
    if getattr(args, "soak", None):
        print(soak_table(report))
    print(f"\nJSON: {out}")
    return report


def output_path(args: Any) -> Path:
    """Where the JSON goes, checked writable before anything runs (a run of many minutes
    must not be lost to a typo in --out at its end); SystemExit with the reason if not."""
    if getattr(args, "_out_path", None) is not None:
        return Path(args._out_path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else RESULTS / f"bench-{stamp}.json"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a"):
            pass
    except OSError as exc:
        raise SystemExit(
            f"python -m bench: cannot write --out {out}: {exc.strerror or exc}"
        ) from None
    args._out_path = str(out)
    return out


def soak_table(report: dict[str, Any]) -> str:
    """Each target's RSS minute by minute, and its growth after the first minute."""
    lines = []
    for target, figures in report["targets"].items():
        timeline = figures.get("rss_timeline_mb") or []
        lines.append(f"\n{target}: RSS (MB) by minute, {report['sessions']} sessions")
        lines += [f"  {at / 60:5.1f} min  {mb:8.1f}" for at, mb in timeline]
        settled = [(at, mb) for at, mb in timeline if at >= 60]
        if len(settled) >= 2:
            (t0, m0), (t1, m1) = settled[0], settled[-1]
            lines.append(f"  after the first minute: {(m1 - m0) / ((t1 - t0) / 60):+.2f} MB/min")
    return "\n".join(lines)


async def run_target(
    target: str, emulator: targets.Emulator, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    figures = await measure_target(target, emulator, workdir, args)
    if target == "rtcore" and "startup_runs_s" in figures:
        # One start-up is one sample of a noisy figure: time more, with the phase's gateway
        # stopped so that each starts on an idle machine.
        for _ in range(args.startups - 1):
            gateway = await start_rtcore(emulator, workdir, args)
            figures["startup_runs_s"].append(gateway.startup_seconds)
            await gateway.stop()
    if figures.get("startup_runs_s"):
        figures["startup_s"] = statistics.median(figures["startup_runs_s"])
    return figures


def _under_test(args: argparse.Namespace) -> frozenset[int] | None:
    """The CPUs of the process under test when ``--pin`` split them, else None."""
    pinned: pinning.Pinning | None = args.pinning
    return None if pinned is None else pinned.under_test


async def start_rtcore(
    emulator: targets.Emulator, workdir: Path, args: argparse.Namespace
) -> targets.Gateway:
    options: dict[str, Any] = {}
    if args.coalesce_ms is not None:
        options["audio_coalesce_ms"] = args.coalesce_ms
    if getattr(args, "end_of_turn_pause_ms", None) is not None:
        options["end_of_turn_pause_ms"] = args.end_of_turn_pause_ms
    return await targets.start_rtcore(
        emulator,
        workdir,
        workers=args.workers,
        options=options,
        loop=args.loop,
        cpus=_under_test(args),
    )


async def measure_target(
    target: str, emulator: targets.Emulator, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """The phase (and the search) against one target, its gateway started and stopped."""
    gateway: targets.Gateway | None = None
    try:
        if target == "rtcore":
            gateway = await start_rtcore(emulator, workdir, args)
        elif target == "floor" and emulator.provider != "nova":
            reason = "the coalescing floor is Nova Sonic's (rtcore coalesces for it only)"
            print(f"floor skipped: {reason}", file=sys.stderr)
            return {"skipped": reason}
        elif target == "litellm" and emulator.provider in LITELLM_SKIPPED:
            reason = LITELLM_SKIPPED[emulator.provider]
            print(f"LiteLLM skipped: {reason}", file=sys.stderr)
            return {"skipped": reason}
        elif target == "litellm":
            try:
                exe = await targets.ensure_litellm(Path(args.litellm_venv))
                gateway = await targets.start_litellm(
                    emulator, workdir, exe, cpus=_under_test(args)
                )
            except (RuntimeError, TimeoutError, OSError) as exc:
                print(f"LiteLLM unavailable, skipped: {exc}", file=sys.stderr)
                return {"skipped": f"LiteLLM could not be installed or run: {exc}"}
        figures = await run_phase(
            target,
            args.sessions,
            args.seconds,
            emulator,
            gateway,
            workdir,
            loop=args.loop,
            under_test=_under_test(args),
        )
        if gateway is not None:
            figures["startup_runs_s"] = [gateway.startup_seconds]
        if args.search:
            figures["search"] = await search_max(
                target,
                emulator,
                gateway,
                workdir,
                start=args.search_start,
                cap=args.search_max,
                seconds=args.search_seconds,
                steps=args.search_steps,
                trials=args.search_trials,
                loop=args.loop,
                under_test=_under_test(args),
            )
        return figures
    finally:
        if gateway is not None:
            await gateway.stop()


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
