"""``rtcore emulator``: run the Nova Sonic emulator until interrupted.

Only ``argparse`` is imported at module level so that registering the command costs nothing.
"""

from __future__ import annotations

import argparse

from rtcore_emulator_kit import cli as kit


def configure(parser: argparse.ArgumentParser) -> None:
    kit.add_address(parser, default_port=8443)
    kit.add_cert_dir(parser)
    kit.add_pacing(parser, paced="assistant audio")
    parser.add_argument(
        "--connection-limit",
        type=float,
        default=480.0,
        help="seconds before a stream ends with ModelTimeoutException (default 480)",
    )
    kit.add_script(parser)
    parser.add_argument(
        "--legacy-models",
        action="store_true",
        help="serve retired models (Nova Sonic v1) as they were; by default their streams "
        "end without an event, as Bedrock's do",
    )
    kit.add_faults(parser, example="limit=5 or stream-error@2")


def run(args: argparse.Namespace) -> int:
    return kit.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from .errors import BedrockError
    from .faults import parse
    from .script import Script
    from .server import NovaSonicEmulator

    def build() -> NovaSonicEmulator:
        try:
            # Faults for every connection are read now: a typo here would otherwise fail each
            # stream at open (as a per-connection spec does, in Bedrock's words).
            parse(args.fault)
            return NovaSonicEmulator(
                args.host,
                args.port,
                cert_dir=args.cert_dir,
                realtime_factor=args.realtime_factor,
                connection_limit=args.connection_limit,
                script=Script.load(args.script) if args.script else None,
                faults=list(args.fault),
                legacy_models=args.legacy_models,
            )
        except BedrockError as error:
            raise ValueError(error.message) from None  # said in Bedrock's words alone

    def shown(emulator: NovaSonicEmulator) -> list[str]:
        return [f"endpoint: {emulator.endpoint}", f"ca file:  {emulator.ca_file}"]

    hint = "trust it: SSL_CERT_FILE=<ca file> for awscrt clients; Ctrl-C stops"
    return await kit.serve("emulator", build, shown, hint)
