"""Reading a WebSocket handshake: the API key, the subprotocol to echo, the dialect hint
(beta: ``OpenAI-Beta: realtime=v1`` or its subprotocol; GA: an openai SDK without it).

Pure functions over the request headers, so each rule is testable without a socket.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from rtcore.dialect import Dialect

KEY_PROTOCOL_PREFIX = "openai-insecure-api-key."
BETA_PROTOCOL = "openai-beta.realtime-v1"
REALTIME_PROTOCOL = "realtime"


class Handshake(msgspec.Struct, frozen=True, kw_only=True):
    """``key`` is the presented API key (a secret: never log it); ``protocol`` is the
    subprotocol to echo (None: echo nothing); ``dialect`` is the client's explicit hint."""

    key: str | None
    protocol: str | None
    dialect: Dialect | None
    offered_protocols: bool


def parse_protocols(header: str | None) -> list[str]:
    if not header:
        return []
    return [p.strip() for p in header.split(",") if p.strip()]


def read_handshake(headers: Mapping[str, str]) -> Handshake:
    """Headers are looked up case-insensitively by the caller's mapping (aiohttp's is)."""
    protocols = parse_protocols(headers.get("Sec-WebSocket-Protocol"))
    key: str | None = None
    authorization = headers.get("Authorization", "")
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        key = credentials.strip()
    elif headers.get("api-key"):
        key = headers["api-key"].strip()
    else:
        for proto in protocols:
            if proto.startswith(KEY_PROTOCOL_PREFIX) and len(proto) > len(KEY_PROTOCOL_PREFIX):
                key = proto.removeprefix(KEY_PROTOCOL_PREFIX)
                break

    # Browsers insist that the server echo one of the offered subprotocols; "realtime" is
    # the one OpenAI echoes. Never echo the key-carrying one.
    echo = None
    if REALTIME_PROTOCOL in protocols:
        echo = REALTIME_PROTOCOL
    else:
        echo = next((p for p in protocols if not p.startswith(KEY_PROTOCOL_PREFIX)), None)

    beta_header = "realtime=v1" in headers.get("OpenAI-Beta", "").replace(" ", "")
    dialect: Dialect | None = None
    if beta_header or BETA_PROTOCOL in protocols:
        dialect = Dialect.BETA
    elif headers.get("X-Stainless-Lang"):
        # The openai SDKs (Python, Node) send their platform headers on every connection,
        # and the beta header only from their beta clients: this one speaks GA, whatever
        # its first event is.
        dialect = Dialect.GA
    return Handshake(key=key, protocol=echo, dialect=dialect, offered_protocols=bool(protocols))
