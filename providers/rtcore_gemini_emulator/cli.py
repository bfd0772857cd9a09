"""``rtcore gemini-emulator``: run the Gemini Live emulator until interrupted.

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
    parser.add_argument("--port", type=int, default=8444, help="port, 0 for any (default 8444)")
    parser.add_argument(
        "--cert-dir", default=None, help="where the local CA and certificate are kept"
    )
    parser.add_argument(
        "--realtime-factor",
        type=float,
        default=1.0,
        help="model audio pacing: 1 real time, 0.1 ten times faster, 0 unpaced",
    )
    parser.add_argument(
        "--connection-lifetime",
        type=float,
        default=600.0,
        help="seconds before a connection closes with 1011 (default 600)",
    )
    parser.add_argument(
        "--go-away-notice",
        type=float,
        default=60.0,
        help="seconds of notice goAway gives before that close (default 60)",
    )
    parser.add_argument(
        "--session-lifetime",
        type=float,
        default=900.0,
        help="seconds a session lives across resumptions without context window "
        "compression (default 900)",
    )
    parser.add_argument("--script", default=None, help="JSON script of utterances and replies")
    parser.add_argument(
        "--reject-key",
        action="append",
        default=[],
        help="an API key to refuse with 1007 'API key not valid' (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault spec applied to every connection, e.g. lifetime=5 or internal@2",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args))
    except KeyboardInterrupt:
        return 0


async def _serve(args: argparse.Namespace) -> int:
    from rtcore_emulated_speech.script import Script

    from .faults import FaultSpecError
    from .server import GeminiLiveEmulator

    try:
        emulator = GeminiLiveEmulator(
            args.host,
            args.port,
            cert_dir=args.cert_dir,
            realtime_factor=args.realtime_factor,
            connection_lifetime=args.connection_lifetime,
            go_away_notice=args.go_away_notice,
            session_lifetime=args.session_lifetime,
            script=Script.load(args.script) if args.script else None,
            faults=list(args.fault),
            rejected_keys=list(args.reject_key),
        )
    except (ValueError, FaultSpecError) as error:
        print(f"rtcore gemini-emulator: {error}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        print(f"base url: {emulator.base_url}", flush=True)
        print(f"ca file:  {emulator.ca_file}", flush=True)
        print(f"token uri: {emulator.token_uri}", flush=True)
        print(
            "trust it: http_options={'base_url': <base url>, 'async_client_args': {'ssl': "
            "<context trusting the ca file>}} or SSL_CERT_FILE=<ca file> for that process; "
            "Ctrl-C stops",
            file=sys.stderr,
        )
        await stop.wait()
    return 0
