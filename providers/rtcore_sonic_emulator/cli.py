"""``rtcore emulator``: run the Nova Sonic emulator until interrupted.

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
    parser.add_argument("--port", type=int, default=8443, help="port, 0 for any (default 8443)")
    parser.add_argument(
        "--cert-dir", default=None, help="where the local CA and certificate are kept"
    )
    parser.add_argument(
        "--realtime-factor",
        type=float,
        default=1.0,
        help="assistant audio pacing: 1 real time, 0.1 ten times faster, 0 unpaced",
    )
    parser.add_argument(
        "--connection-limit",
        type=float,
        default=480.0,
        help="seconds before a stream ends with ModelTimeoutException (default 480)",
    )
    parser.add_argument("--script", default=None, help="JSON script of utterances and replies")
    parser.add_argument(
        "--legacy-models",
        action="store_true",
        help="serve retired models (Nova Sonic v1) as they were; by default their streams "
        "end without an event, as Bedrock's do",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault spec applied to every connection, e.g. limit=5 or stream-error@2",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    from .script import Script
    from .server import NovaSonicEmulator

    emulator = NovaSonicEmulator(
        args.host,
        args.port,
        cert_dir=args.cert_dir,
        realtime_factor=args.realtime_factor,
        connection_limit=args.connection_limit,
        script=Script.load(args.script) if args.script else None,
        faults=list(args.fault),
        legacy_models=args.legacy_models,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        print(f"endpoint: {emulator.endpoint}", flush=True)
        print(f"ca file:  {emulator.ca_file}", flush=True)
        print("trust it: SSL_CERT_FILE=<ca file> for awscrt clients; Ctrl-C stops", file=sys.stderr)
        await stop.wait()
    return 0
