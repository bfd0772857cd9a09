"""Which addresses a call's ICE candidates are gathered on.

aioice gathers host candidates on every interface but loopback, and offers no option to
choose. A gateway bound to loopback must answer on loopback (its clients are local, and
nothing else may reach it); one bound to an address answers on that address; one bound to
every address (0.0.0.0, ::) answers on every interface, as aioice would.
"""

from __future__ import annotations

import ipaddress

import aioice.ice

_EVERYWHERE = aioice.ice.get_host_addresses


def addresses_for(host: str) -> list[str] | None:
    """The addresses to gather on for a server bound to ``host``; None: aioice's own."""
    if host in ("", "0.0.0.0", "::"):
        return None
    if host == "localhost":
        return ["127.0.0.1"]
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        return None  # a host name: every interface


def gather_on(host: str) -> None:
    chosen = addresses_for(host)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        if chosen is None:
            return _EVERYWHERE(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses
