"""``rtcore openai-emulator``: run the OpenAI Realtime emulator until interrupted.

Only ``argparse`` is imported at module level so that registering the command costs nothing.
"""

from __future__ import annotations

import argparse

from rtcore_emulator_kit import cli as kit


def configure(parser: argparse.ArgumentParser) -> None:
    kit.add_address(parser, default_port=8445)
    parser.add_argument("--tls", action="store_true", help="serve wss:// with a local CA")
    kit.add_cert_dir(parser, only_with_tls=True)
    kit.add_pacing(parser)
    parser.add_argument(
        "--session-cap",
        type=float,
        default=3600.0,
        help="seconds before error session_expired and a close (default 3600, OpenAI's)",
    )
    kit.add_script(parser)
    kit.add_rejected_keys(parser)
    parser.add_argument(
        "--deployment",
        action="append",
        default=[],
        help="an Azure deployment, NAME or NAME=MODEL (repeatable)",
    )
    kit.add_faults(parser, example="cap=5 or server-error@2")


def run(args: argparse.Namespace) -> int:
    return kit.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from rtcore_emulated_speech.script import Script

    from .server import OpenAIRealtimeEmulator

    deployments = {}
    for given in args.deployment:
        name, _, model = given.partition("=")
        deployments[name] = model or "gpt-realtime"

    def build() -> OpenAIRealtimeEmulator:
        return OpenAIRealtimeEmulator(
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

    def shown(emulator: OpenAIRealtimeEmulator) -> list[str]:
        return [
            f"base url: {emulator.base_url}",
            f"openai:   {emulator.url_for('openai')}",
            f"azure:    {emulator.url_for('azure')}",
            f"xai:      {emulator.url_for('xai')}",
        ]

    hint = (
        "openai SDK: AsyncOpenAI(websocket_base_url=<ws url>/v1); Azure GA: "
        "AsyncOpenAI(base_url=<base url>/openai/v1/); Ctrl-C stops"
    )
    return await kit.serve("openai-emulator", build, shown, hint)
