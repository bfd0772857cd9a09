"""The config's ``mcp_servers`` (LiteLLM's section) and the MCP limits of
``general_settings``: the servers sessions may use by name, and who may use which."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from rtcore.config.errors import ConfigError
from rtcore.config.known_keys import missing_hint, misspelt, unapplied
from rtcore.mcp.spec import McpAccess, OperatorServer, Transport

_TRANSPORTS: dict[str, Transport] = {
    "http": "streamable_http",
    "streamable_http": "streamable_http",
    "streamable-http": "streamable_http",
    "sse": "sse",
}
SERVER_KEYS = frozenset(
    {
        "url",
        "transport",
        "description",
        "headers",
        "auth_type",
        "authentication_token",
        "allowed_keys",
    }
)
# LiteLLM's own server settings rtcore does not apply (stdio servers, tool filters, its
# access groups): named at start as not applied, never taken for a misspelling of one
# rtcore reads (allow_all_keys is not a misspelt allowed_keys).
LITELLM_SERVER_KEYS = frozenset(
    {
        "command",
        "args",
        "env",
        "spec_version",
        "server_id",
        "alias",
        "mcp_info",
        "extra_headers",
        "static_headers",
        "allowed_tools",
        "disallowed_tools",
        "allowed_params",
        "access_groups",
        "allow_all_keys",
    }
)
# general_settings keys of rtcore's MCP limits.
MCP_SETTINGS = frozenset({"mcp_call_timeout", "mcp_max_output_bytes", "mcp_client_server_urls"})


def _auth_header(auth_type: str, token: str, where: str, source: str) -> dict[str, str]:
    match auth_type:
        case "none":
            return {}
        case "bearer_token":
            return {"Authorization": f"Bearer {token}"}
        case "authorization":
            return {"Authorization": token}
        case "api_key":
            return {"X-API-Key": token}
        case "basic":
            return {"Authorization": "Basic " + base64.b64encode(token.encode()).decode()}
    raise ConfigError(
        source,
        f"{where}.auth_type",
        "expected none, bearer_token, authorization, api_key or basic",
    )


def _check_keys(entry: Mapping[str, object], where: str, source: str) -> None:
    """Each key of a server's entry rtcore does not apply is named (with the key it was
    probably meant to be); a misspelt ``allowed_keys`` stops the start, since the server
    would be open to every key."""
    ours = {key: value for key, value in entry.items() if key not in LITELLM_SERVER_KEYS}
    found = misspelt(ours, "allowed_keys", SERVER_KEYS)
    if found is not None:
        raise ConfigError(
            source,
            f"{where}.{found}",
            "not a setting rtcore knows; did you mean allowed_keys? (refusing to open this "
            "server to every key)",
        )
    unapplied(
        source,
        where,
        [str(key) for key in entry if key not in SERVER_KEYS],
        SERVER_KEYS,
        "LiteLLM MCP server settings rtcore does not apply (it applies "
        f"{', '.join(sorted(SERVER_KEYS))})",
        theirs=LITELLM_SERVER_KEYS,
    )


def mcp_servers(raw: object, source: str) -> tuple[OperatorServer, ...]:
    """``raw`` has had ``os.environ/NAME`` resolved already."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigError(source, "mcp_servers", "expected a mapping of server name to settings")
    out: list[OperatorServer] = []
    for name, entry in raw.items():
        where = f"mcp_servers.{name}"
        if not isinstance(entry, Mapping):
            raise ConfigError(source, where, "expected a mapping (url, transport, ...)")
        _check_keys(entry, where, source)
        url = entry.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(
                source,
                f"{where}.url",
                "expected an http:// or https:// URL" + missing_hint(entry, "url", SERVER_KEYS),
            )
        transport = _TRANSPORTS.get(str(entry.get("transport", "http")))
        if transport is None:
            raise ConfigError(
                source, f"{where}.transport", "expected http (streamable HTTP) or sse"
            )
        headers_raw = entry.get("headers") or {}
        if not isinstance(headers_raw, Mapping) or not all(
            isinstance(v, str) for v in headers_raw.values()
        ):
            raise ConfigError(source, f"{where}.headers", "expected a mapping of header to text")
        headers = {str(k): str(v) for k, v in headers_raw.items()}
        token = entry.get("authentication_token")
        if token is not None:
            headers |= _auth_header(
                str(entry.get("auth_type", "bearer_token")), str(token), where, source
            )
        allowed = entry.get("allowed_keys")
        if allowed is not None and (
            not isinstance(allowed, list) or not all(isinstance(k, str) for k in allowed)
        ):
            raise ConfigError(source, f"{where}.allowed_keys", "expected a list of key aliases")
        description = entry.get("description")
        out.append(
            OperatorServer(
                name=str(name),
                url=url,
                transport=transport,
                headers=headers,
                description=str(description) if description is not None else None,
                allowed_keys=None if allowed is None else tuple(allowed),
            )
        )
    return tuple(out)


def mcp_access(
    servers: tuple[OperatorServer, ...], settings: Mapping[str, object], source: str
) -> McpAccess:
    """Every configured server and the limits; a session gets the part its key may use
    (``for_caller``)."""
    timeout = settings.get("mcp_call_timeout", 30)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(source, "general_settings.mcp_call_timeout", "expected seconds above 0")
    cap = settings.get("mcp_max_output_bytes", 100_000)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0:
        raise ConfigError(
            source, "general_settings.mcp_max_output_bytes", "expected a whole number above 0"
        )
    client_urls = settings.get("mcp_client_server_urls", True)
    if not isinstance(client_urls, bool):
        raise ConfigError(source, "general_settings.mcp_client_server_urls", "expected true/false")
    return McpAccess(
        servers={s.name: s for s in servers},
        client_urls=client_urls,
        call_timeout_seconds=float(timeout),
        max_output_bytes=cap,
    )


def for_caller(access: McpAccess, key_alias: str | None, *, master: bool) -> McpAccess:
    """The servers a caller may use: ``master`` (the master key, or no keys at all) all of
    them; a virtual key those without ``allowed_keys`` and those that list its alias."""
    usable = {n: s for n, s in access.servers.items() if s.usable_by(key_alias, master=master)}
    return McpAccess(
        servers=usable,
        client_urls=access.client_urls,
        call_timeout_seconds=access.call_timeout_seconds,
        max_output_bytes=access.max_output_bytes,
        connect_timeout_seconds=access.connect_timeout_seconds,
    )
