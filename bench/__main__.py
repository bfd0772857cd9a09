"""``python -m bench``: drive N realtime sessions against direct, rtcore and LiteLLM."""

from __future__ import annotations

import argparse
import asyncio
import os

from bench import pinning, run, targets
from rtcore import loops


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Benchmark the audio path: N concurrent sessions streaming 16 kHz audio in real "
            "time against the Nova Sonic emulator, straight with the AWS SDK (direct), through "
            "`rtcore serve`, and through LiteLLM's proxy; or, with --provider gemini, against "
            "the Gemini Live emulator, straight with google-genai (direct) and through "
            "`rtcore serve`; with --provider openai, against the OpenAI Realtime emulator, "
            "straight with openai (direct) and through `rtcore serve`. Prints a table; "
            "writes JSON."
        ),
    )
    p.add_argument(
        "--provider",
        choices=targets.PROVIDERS,
        default="nova",
        help="the emulator and the direct client: nova (Nova Sonic, aws_sdk_bedrock_runtime) "
        "or gemini (Gemini Live gemini-3.8-live, google-genai) or openai (OpenAI Realtime "
        "gpt-realtime-2, openai, 24 kHz audio); LiteLLM is measured for nova only (nova)",
    )
    p.add_argument("--sessions", "-n", type=int, default=50, help="concurrent sessions (50)")
    p.add_argument("--seconds", type=float, default=30.0, help="streaming time per phase (30)")
    p.add_argument(
        "--targets", default=",".join(run.TARGETS), help="comma-separated (direct,rtcore,litellm)"
    )
    p.add_argument("--workers", type=int, default=1, help="rtcore serve --workers (1)")
    p.add_argument(
        "--coalesce-ms",
        type=int,
        default=None,
        help="rtcore's audio_coalesce_ms (its default; Nova Sonic only)",
    )
    p.add_argument(
        "--end-of-turn-pause-ms",
        type=int,
        default=None,
        help="rtcore's end_of_turn_pause_ms: the emulator's end-of-turn pause (600 in the "
        "benchmark) told to rtcore, so quiet before it may wait in batches (Nova Sonic only)",
    )
    p.add_argument(
        "--loop",
        choices=loops.LOOPS,
        default="auto",
        help="event loop of the emulator, the load generator (the direct client) and rtcore "
        "(auto: uvloop when installed; LiteLLM's uvicorn picks uvloop on its own)",
    )
    p.add_argument(
        "--startups", type=int, default=5, help="rtcore start-ups timed; the median is shown (5)"
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="the gateway (for direct, the SDK client) on the upper half of the CPUs, the "
        "emulator and the load generator on the lower half (Linux)",
    )
    p.add_argument("--search", action="store_true", help="also find each target's max real-time N")
    p.add_argument("--search-start", type=int, default=25)
    p.add_argument("--search-max", type=int, default=400)
    p.add_argument("--search-seconds", type=float, default=20.0)
    p.add_argument("--search-steps", type=int, default=6)
    p.add_argument(
        "--search-trials",
        type=int,
        default=1,
        help="phases per N in the search; N holds only if every one holds (default 1)",
    )
    p.add_argument(
        "--soak",
        type=float,
        metavar="MINUTES",
        help="one long phase (MINUTES, rtcore only unless --targets says otherwise) that "
        "prints the gateway's memory minute by minute",
    )
    p.add_argument(
        "--keys",
        action="store_true",
        help="instead: session set-up and per-chunk CPU with a virtual key against the "
        "master key (bench.keys; --sessions sets the set-ups of each, --database-url "
        "a PostgreSQL instead of SQLite)",
    )
    p.add_argument(
        "--observability",
        action="store_true",
        help="instead: the gateway's CPU per session-minute with metrics and JSON logs on "
        "against off, alternating in one run (bench.observability)",
    )
    p.add_argument(
        "--webrtc",
        action="store_true",
        help="instead: the gateway's CPU per session-minute of WebRTC sessions against "
        "WebSocket sessions (the echo model), alternating in one run (bench.webrtc)",
    )
    p.add_argument(
        "--webrtc-calls",
        action="store_true",
        help="instead: --rounds batches of -n WebRTC calls opened and closed (the echo "
        "model; 4 x 50 by default); the gateway's threads, file descriptors and RSS with "
        "each batch's calls up and after they ended (bench.webrtc_calls)",
    )
    p.add_argument(
        "--failover",
        action="store_true",
        help="instead: the audio gap at a mid-session failover (p50/p99 over every switch) "
        "and the gateway's CPU per switch, against steady sessions, alternating in one run "
        "(two deployments on the OpenAI Realtime emulator; bench.failover)",
    )
    p.add_argument(
        "--mcp",
        action="store_true",
        help="instead: time to first audio, upstream chunk latency and the gateway's CPU "
        "per session-minute with an MCP server attached to every session (a FastMCP server "
        "on loopback, its tools listed and offered) against none, alternating in one run "
        "(bench.mcp_attached)",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="with --observability, --webrtc, --failover or --mcp: phases of each; with "
        "--webrtc-calls: batches (4)",
    )
    p.add_argument("--database-url", default=None, help="with --keys: the key store's database")
    p.add_argument("--litellm-venv", default=str(targets.litellm_venv()))
    p.add_argument("--out", help="JSON path (default bench/results/bench-TIME.json)")
    return p


# Modes with a model of their own (the echo model, or Nova Sonic): --provider is the main
# run's (with --search and --soak).
_NOVA_ONLY = ("keys", "webrtc_calls", "webrtc", "observability", "failover", "mcp")


def main() -> None:
    p = parser()
    args = p.parse_args()
    if args.provider != "nova":
        for mode in _NOVA_ONLY:
            if getattr(args, mode):
                flag = "--" + mode.replace("_", "-")
                p.error(f"--provider applies to the main run (and --search, --soak), not {flag}")
        if args.coalesce_ms is not None or args.end_of_turn_pause_ms is not None:
            p.error(
                "--coalesce-ms and --end-of-turn-pause-ms are Nova Sonic's; rtcore does not "
                f"coalesce for {args.provider}"
            )
    if args.keys:
        from bench import keys

        asyncio.run(keys.main(args.sessions, keys.CHUNKS, args.database_url))
        return
    if args.webrtc_calls:
        from bench import webrtc_calls

        asyncio.run(webrtc_calls.main(args))
        return
    if args.webrtc:
        from bench import webrtc

        asyncio.run(webrtc.main(args, rounds=args.rounds))
        return
    if args.failover:
        from bench import failover

        asyncio.run(failover.main(args, rounds=args.rounds))
        return
    if args.mcp:
        from bench import mcp_attached

        asyncio.run(mcp_attached.main(args, rounds=args.rounds))
        return
    if args.observability:
        from bench import observability

        asyncio.run(observability.main(args, rounds=args.rounds))
        return
    if args.soak:
        args.seconds = args.soak * 60
        if args.targets == ",".join(run.TARGETS):
            args.targets = "rtcore"
    # Decided here, once: a machine that cannot be split is a usage error, not a crash.
    args.pinning = None
    if args.pin:
        if not hasattr(os, "sched_getaffinity"):
            p.error("--pin needs CPU affinity, which this platform lacks (Linux has it)")
        try:
            args.pinning = pinning.split(os.sched_getaffinity(0))
        except ValueError as exc:
            p.error(str(exc))
    asyncio.run(run.main(args))


if __name__ == "__main__":
    main()
