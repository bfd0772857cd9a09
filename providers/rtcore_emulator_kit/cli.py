"""The scaffolding of an emulator's command: the options every emulator has, worded once, and
serving until Ctrl-C or SIGTERM, saying where it listens or why it cannot.

Only ``argparse`` is imported at module level: an emulator's command is registered on every
``rtcore`` start, and ``asyncio`` loads only when one is run.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any


def add_address(parser: argparse.ArgumentParser, default_port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=int,
        default=default_port,
        help=f"port, 0 for any (default {default_port})",
    )


def add_cert_dir(parser: argparse.ArgumentParser, *, only_with_tls: bool = False) -> None:
    kept = "where the local CA and certificate are kept"
    help_text = f"{kept} (--tls)" if only_with_tls else kept
    parser.add_argument("--cert-dir", default=None, help=help_text)


def add_pacing(parser: argparse.ArgumentParser, paced: str = "model audio") -> None:
    parser.add_argument(
        "--realtime-factor",
        type=float,
        default=1.0,
        help=f"{paced} pacing: 1 real time, 0.1 ten times faster, 0 unpaced",
    )


def add_script(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--script", default=None, help="JSON script of utterances and replies")


def add_rejected_keys(parser: argparse.ArgumentParser, how: str = "") -> None:
    """``--reject-key``; ``how``: the vendor's refusal, when the help names it."""
    refuse = f"refuse {how}" if how else "refuse"
    parser.add_argument(
        "--reject-key",
        action="append",
        default=[],
        help=f"an API key to {refuse} (repeatable)",
    )


def add_faults(parser: argparse.ArgumentParser, example: str) -> None:
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help=f"fault spec applied to every connection, e.g. {example}",
    )


def run(serve: Coroutine[Any, Any, int]) -> int:
    import asyncio

    try:
        return asyncio.run(serve)
    except KeyboardInterrupt:
        return 0


async def serve[EmulatorT: AbstractAsyncContextManager[Any]](
    command: str,
    build: Callable[[], EmulatorT],
    shown: Callable[[EmulatorT], Iterable[str]],
    hint: str,
) -> int:
    """Build the emulator and run it until SIGINT or SIGTERM; once it listens, print each line
    ``shown`` (where it listens) to stdout and ``hint`` (how to trust it) to stderr. A
    ``ValueError`` from ``build`` (a bad fault spec, a host off loopback) is printed as
    ``rtcore <command>: <error>``, and the exit code is 2."""
    import asyncio
    import contextlib
    import signal
    import sys

    try:
        emulator = build()
    except ValueError as error:
        print(f"rtcore {command}: {error}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        for line in shown(emulator):
            print(line, flush=True)
        print(hint, file=sys.stderr)
        await stop.wait()
    return 0
