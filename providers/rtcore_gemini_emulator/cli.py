"""``rtcore gemini-emulator``: run the Gemini Live emulator until interrupted.

Only ``argparse`` is imported at module level so that registering the command costs nothing.
"""

from __future__ import annotations

import argparse

from rtcore_emulator_kit import cli as kit


def configure(parser: argparse.ArgumentParser) -> None:
    kit.add_address(parser, default_port=8444)
    kit.add_cert_dir(parser)
    kit.add_pacing(parser)
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
    kit.add_script(parser)
    kit.add_rejected_keys(parser, how="with 1007 'API key not valid'")
    kit.add_faults(parser, example="lifetime=5 or internal@2")


def run(args: argparse.Namespace) -> int:
    return kit.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from rtcore_emulated_speech.script import Script

    from .server import GeminiLiveEmulator

    def build() -> GeminiLiveEmulator:
        return GeminiLiveEmulator(
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

    def shown(emulator: GeminiLiveEmulator) -> list[str]:
        return [
            f"base url: {emulator.base_url}",
            f"ca file:  {emulator.ca_file}",
            f"token uri: {emulator.token_uri}",
        ]

    hint = (
        "trust it: http_options={'base_url': <base url>, 'async_client_args': {'ssl': "
        "<context trusting the ca file>}} or SSL_CERT_FILE=<ca file> for that process; "
        "Ctrl-C stops"
    )
    return await kit.serve("gemini-emulator", build, shown, hint)
