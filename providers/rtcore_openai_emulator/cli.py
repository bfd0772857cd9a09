"""``rtcore openai-emulator``: run the OpenAI Realtime emulator until interrupted.

Only ``argparse`` is imported at module level so that registering the command costs nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8445, help="port, 0 for any (default 8445)")
    parser.add_argument("--tls", action="store_true", help="serve wss:// with a local CA")
    parser.add_argument(
        "--cert-dir", default=None, help="where the local CA and certificate are kept (--tls)"
    )
    parser.add_argument(
        "--realtime-factor",
        type=float,
        default=1.0,
        help="model audio pacing: 1 real time, 0.1 ten times faster, 0 unpaced",
    )
    parser.add_argument(
        "--session-cap",
        type=float,
        default=3600.0,
        help="seconds before error session_expired and a close (default 3600, OpenAI's)",
    )
    parser.add_argument("--script", default=None, help="JSON script of utterances and replies")
    parser.add_argument(
        "--reject-key",
        action="append",
        default=[],
        help="an API key to refuse (repeatable)",
    )
    parser.add_argument(
        "--deployment",
        action="append",
        default=[],
        help="an Azure deployment, NAME or NAME=MODEL (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault spec applied to every connection, e.g. cap=5 or server-error@2",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    from rtcore_emulated_speech.script import Script

    from .faults import FaultSpecError
    from .server import OpenAIRealtimeEmulator

    deployments = {}
    for given in args.deployment:
        name, _, model = given.partition("=")
        deployments[name] = model or "gpt-realtime"
    try:
        emulator = OpenAIRealtimeEmulator(
            args.host,
            args.port,
            tls=args.tls,
            cert_dir=args.cert_dir,
            realtime_factor=args.realtime_factor,
            session_cap=args.session_cap,
            script=Script.load(args.script) if args.script else None,
            faults=list(args.fault),
            rejected_keys=list(args.reject_key),
            deployments=deployments,
        )
    except (ValueError, FaultSpecError) as error:
        print(f"rtcore openai-emulator: {error}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        print(f"base url: {emulator.base_url}", flush=True)
        print(f"openai:   {emulator.url_for('openai')}", flush=True)
        print(f"azure:    {emulator.url_for('azure')}", flush=True)
        print(f"xai:      {emulator.url_for('xai')}", flush=True)
        print(
            "openai SDK: AsyncOpenAI(websocket_base_url=<ws url>/v1); Azure GA: "
            "AsyncOpenAI(base_url=<base url>/openai/v1/); Ctrl-C stops",
            file=sys.stderr,
        )
        await stop.wait()
    return 0
