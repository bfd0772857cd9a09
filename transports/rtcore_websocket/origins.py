"""Which browser pages may open a session. Browsers apply no CORS to WebSockets: without
this check any web page the operator visits could drive a gateway on their machine (and
spend their AWS account) through it. Clients that send no ``Origin`` (SDKs, servers) and
same-origin pages (the playground) are accepted; other origins only when allowed."""

from __future__ import annotations

from urllib.parse import urlsplit


def origin_allowed(origin: str | None, host: str, allowed: tuple[str, ...]) -> bool:
    if origin is None:
        return True
    origin = origin.strip().lower()
    if "*" in allowed or origin in allowed:
        return True
    # Same origin: the page was served by this very host:port (http or https).
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host.strip().lower()
