"""The ``rtcore`` command line.

Importing this module is cheap: subcommands import what they need when they run, so
``rtcore --help`` stays fast. Plugins are loaded before the parser is built because they add
subcommands and ``serve`` options.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import sys
from collections.abc import Sequence

import msgspec

from rtcore.logs import LOG_FORMATS, RedactingFormatter, configure_logging
from rtcore.plugin_commands import CommandSpec
from rtcore.plugins import DuplicateName, PluginHost, load_plugins

log = logging.getLogger("rtcore.cli")

BUILTIN_COMMANDS = frozenset({"serve", "plugins"})
LOG_LEVELS = ("debug", "info", "warning", "error")


def _version() -> str:
    try:
        return importlib.metadata.version("rtcore")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--disable-plugin",
        metavar="NAME",
        action="append",
        default=[],
        help="do not load the plugin with this entry-point name (repeatable)",
    )


def build_parser(host: PluginHost) -> argparse.ArgumentParser:
    from rtcore import serve_command as serve

    parser = argparse.ArgumentParser(
        prog="rtcore",
        description="A realtime voice gateway speaking the OpenAI Realtime API.",
    )
    parser.add_argument("--version", action="version", version=f"rtcore {_version()}")
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve_parser = sub.add_parser(
        "serve", help="serve the configured models", description="Serve the configured models."
    )
    serve.add_arguments(serve_parser)
    serve_parser.add_argument(
        "--log-level", choices=LOG_LEVELS, default="info", help="default: info (logs go to stderr)"
    )
    serve_parser.add_argument(
        "--detailed_debug",
        dest="log_level",
        action="store_const",
        const="debug",
        help="LiteLLM's spelling of --log-level debug",
    )
    serve_parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text (default) or json: one JSON object per line, with the session's id, "
        "model and key alias on every line about a session",
    )
    serve_parser.add_argument(
        "--workers",
        "--num_workers",
        dest="workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing the port (SO_REUSEPORT), e.g. one per core; "
        "websocket only (default 1; LiteLLM's --num_workers too)",
    )
    host.add_serve_arguments(serve_parser)

    plugins_parser = sub.add_parser("plugins", help="list installed plugins")
    plugins_parser.add_argument("--json", action="store_true", help="print JSON")

    for name, spec in host.commands().items():
        if name in BUILTIN_COMMANDS:
            log.warning("ignoring plugin command %r: the name is taken by rtcore", name)
            continue
        command_parser = sub.add_parser(name, help=spec.help, description=spec.help)
        spec.configure(command_parser)
        command_parser.set_defaults(_command_spec=spec)
    return parser


def list_plugins(host: PluginHost, as_json: bool) -> int:
    provides = host.registrations()
    infos = host.info()
    if as_json:
        rows = [
            msgspec.structs.asdict(info) | {"provides": provides.get(info.name, {})}
            for info in infos
        ]
        broken = [msgspec.structs.asdict(b) for b in host.broken]
        print(json.dumps({"plugins": rows, "broken": broken}, indent=2))
        return 0
    for info in infos:
        print(f"{info.name}  ({info.distribution} {info.version})".rstrip())
        print(f"  hooks: {', '.join(info.hooks) or '(none)'}")
        for kind, names in sorted(provides.get(info.name, {}).items()):
            print(f"  {kind}: {', '.join(names)}")
    for item in host.broken:
        print(f"{item.name}  ({item.distribution})  BROKEN: {item.error}")
    if not infos and not host.broken:
        print("no plugins installed")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    formatter = configure_logging("warning")
    pre = argparse.ArgumentParser(add_help=False)
    _global_options(pre)
    known, _ = pre.parse_known_args(args_in)
    host = load_plugins(disabled=known.disable_plugin)
    try:
        parser = build_parser(host)
        args = parser.parse_args(args_in)
        return _dispatch(parser, args, host, formatter)
    except DuplicateName as exc:
        # Two plugins registering one name: the user picks, rtcore does not guess.
        print(f"rtcore: error: {exc}; disable one with --disable-plugin NAME", file=sys.stderr)
        return 2


def _dispatch(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    host: PluginHost,
    formatter: RedactingFormatter,
) -> int:
    if args.command == "serve":
        logging.getLogger().setLevel(args.log_level.upper())
        formatter.style = args.log_format
        if args.workers != 1:
            from rtcore import workers

            return workers.run(args, host, formatter)
        from rtcore import serve_command as serve

        return serve.run(args, host, formatter)
    if args.command == "plugins":
        return list_plugins(host, args.json)
    spec: CommandSpec | None = getattr(args, "_command_spec", None)
    if spec is not None:
        return spec.run(args)
    parser.print_help()
    return 2


if __name__ == "__main__":
    sys.exit(main())
