"""Registers the WebRTC endpoints (``/v1/realtime/calls``) with rtcore's HTTP server, and
their option (``--max-calls``). aiortc and PyAV are imported only on the first call
(``endpoints.load_media``): a server no one calls never loads them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

import rtcore

if TYPE_CHECKING:
    from rtcore.gateway import Gateway
    from rtcore.http import HttpRoute
    from rtcore.serve_settings import ServeSettings

# A call costs about 4.4 CPU seconds a minute in the gateway (Opus both ways, SRTP, DTLS,
# 20 ms pacing: docs/performance.md), so a core carries about 13 in real time, and one
# process's Python work runs on one core (the codecs beside it). Past a few dozen, more
# calls only make every call's audio late; an operator who measured more raises it.
DEFAULT_MAX_CALLS = 32


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


@rtcore.hookimpl
def rtcore_add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-calls",
        type=_count,
        default=DEFAULT_MAX_CALLS,
        metavar="N",
        help="at most N WebRTC calls at once in each serving process; more are refused with "
        f"503 too_many_calls (default {DEFAULT_MAX_CALLS})",
    )


@rtcore.hookimpl
def rtcore_http_routes(gateway: Gateway, settings: ServeSettings) -> Sequence[HttpRoute]:
    from rtcore_webrtc.endpoints import Calls

    max_calls = getattr(settings.args, "max_calls", DEFAULT_MAX_CALLS)
    return Calls(gateway, settings, max_calls=max_calls).routes()
