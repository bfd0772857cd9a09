"""The WebSocket transport's own options (``rtcore serve`` flags it adds through the
``rtcore_add_serve_arguments`` hook, and their ``general_settings`` counterparts in a
config file): TLS, the browser origins let in, pings, and the two timeouts of a connection.
Checked once before serving starts (``WebSocketOptions.of`` raises ``ServeError``)."""

from __future__ import annotations

import argparse
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from rtcore.serve_settings import ServeError, ServeSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("websocket transport")
    group.add_argument(
        "--ssl-certfile",
        metavar="PEM",
        help="serve TLS (wss://, https://) with this certificate chain (and --ssl-keyfile)",
    )
    group.add_argument("--ssl-keyfile", metavar="PEM", help="the private key of --ssl-certfile")
    group.add_argument(
        "--allowed-origin",
        metavar="ORIGIN",
        action="append",
        default=[],
        help="accept WebSocket upgrades from this browser origin (repeatable; * for any); "
        "same-origin pages and clients that send no Origin are always accepted",
    )
    group.add_argument(
        "--header-timeout-seconds",
        type=float,
        default=10.0,
        help="close a connection whose request (line and headers) has not arrived in this "
        "time (default 10)",
    )
    group.add_argument(
        "--send-timeout-seconds",
        type=float,
        default=10.0,
        help="a client that reads nothing for this long is dropped (1008) and its session "
        "closed (default 10)",
    )
    group.add_argument(
        "--ping-interval",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="WebSocket ping to every client this often, which keeps quiet sessions open "
        "through proxies' idle timeouts and finds dead peers (default 20, as OpenAI's "
        "service; 0 turns pings off)",
    )


@dataclass(frozen=True)
class WebSocketOptions:
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    # Browser origins whose pages may open a session and call the HTTP endpoints; "*": any.
    allowed_origins: tuple[str, ...] = ()
    # A client that reads nothing for this long is dropped.
    send_timeout_seconds: float = 10.0
    # A connection whose request has not arrived by then is closed.
    header_timeout_seconds: float = 10.0
    # WebSocket pings to each client (0: none).
    ping_interval_seconds: float = 20.0

    @classmethod
    def of(cls, settings: ServeSettings) -> WebSocketOptions:
        """The options from the flags, else the config file's general_settings; a value
        the transport cannot serve with raises ``ServeError``, saying which."""
        args, general = settings.args, settings.general
        for flag, name in (
            ("--send-timeout-seconds", "send_timeout_seconds"),
            ("--header-timeout-seconds", "header_timeout_seconds"),
        ):
            if getattr(args, name, 10.0) <= 0:
                raise ServeError(f"{flag} must be more than 0")
        if getattr(args, "ping_interval", 20.0) < 0:
            raise ServeError("--ping-interval must be 0 (off) or more")
        certfile = getattr(args, "ssl_certfile", None) or general.get("ssl_certfile")
        keyfile = getattr(args, "ssl_keyfile", None) or general.get("ssl_keyfile")
        if keyfile is not None and certfile is None:
            raise ServeError("--ssl-keyfile needs --ssl-certfile (the certificate to serve)")
        for flag, path in (("--ssl-certfile", certfile), ("--ssl-keyfile", keyfile)):
            if path is not None and not Path(path).is_file():
                raise ServeError(f"{flag} {path}: no such file")
        origins = [*general.get("allowed_origins", ()), *getattr(args, "allowed_origin", [])]
        options = cls(
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
            allowed_origins=_origins(origins),
            send_timeout_seconds=getattr(args, "send_timeout_seconds", 10.0),
            header_timeout_seconds=getattr(args, "header_timeout_seconds", 10.0),
            ping_interval_seconds=getattr(args, "ping_interval", 20.0),
        )
        options.tls_context()  # a bad certificate or key stops the start, with a message
        return options

    @property
    def tls(self) -> bool:
        return self.ssl_certfile is not None

    def tls_context(self) -> ssl.SSLContext | None:
        """The server's TLS context (None: plain ws://); ``ServeError`` for a file that is
        not a PEM certificate chain, or a key that does not match it."""
        if self.ssl_certfile is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise ServeError(f"cannot serve TLS with --ssl-certfile/--ssl-keyfile: {exc}") from None
        return context


def _origins(values: list[str]) -> tuple[str, ...]:
    """Origins as browsers send them (``scheme://host[:port]``, lower case, no path)."""
    out: list[str] = []
    for value in values:
        origin = value.strip().rstrip("/").lower()
        if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s]+", origin):
            raise ServeError(
                f"allowed origin {value!r} is not an origin: give scheme://host[:port], "
                "such as https://app.example.com, or * for any"
            )
        out.append(origin)
    return tuple(out)
