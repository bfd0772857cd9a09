"""serve freezes what start-up built once the providers have warmed up, so the cyclic
collector's full passes stop scanning the SDK's modules with the event loop stopped."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from rtcore.mcp.spec import McpAccess
from rtcore.warm_up import warm_up as _warm_up

NO_MCP = McpAccess(client_urls=False)  # no server a session could use: no MCP SDK loaded


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class WarmingProvider:
    def __init__(self) -> None:
        self.frozen_while_warming: int | None = None
        self.client: list[Any] = []

    async def warm_up(self) -> None:
        self.frozen_while_warming = gc.get_freeze_count()
        self.client.append({"connection": object()})  # what a warm-up keeps alive


async def test_the_heap_is_frozen_after_the_warm_up(unfrozen: None) -> None:
    provider = WarmingProvider()
    gateway: Any = SimpleNamespace(provider_for=lambda model: provider)
    settings: Any = SimpleNamespace(models=[SimpleNamespace(name="m")], mcp=NO_MCP)

    await _warm_up(gateway, settings)

    assert provider.frozen_while_warming == 0
    assert gc.get_freeze_count() > 0
    # The warmed client is among the frozen objects: a fresh collection finds nothing new
    # to track from it (frozen objects are not in any generation).
    assert all(provider.client[0] is not o for o in gc.get_objects(generation=2))


async def test_a_failed_warm_up_still_freezes(unfrozen: None) -> None:
    class Failing:
        async def warm_up(self) -> None:
            raise RuntimeError("no credentials")

    gateway: Any = SimpleNamespace(provider_for=lambda model: Failing())
    settings: Any = SimpleNamespace(models=[SimpleNamespace(name="m")], mcp=NO_MCP)

    await _warm_up(gateway, settings)

    assert gc.get_freeze_count() > 0


# In a process of its own: whether the warm-up loaded the MCP SDK (no other test's import
# may have done it first), and froze it with the rest.
_MCP_PROBE = """
import asyncio, gc, sys
from types import SimpleNamespace
from rtcore.mcp.spec import McpAccess, OperatorServer
from rtcore.warm_up import warm_up as _warm_up
server = OperatorServer(name="docs", url="http://127.0.0.1:9/mcp")
access = {
    "servers": McpAccess(servers={"docs": server}, client_urls=False),
    "urls": McpAccess(client_urls=True),
    "none": McpAccess(client_urls=False),
}[sys.argv[1]]
assert "rtcore.mcp.client" not in sys.modules
asyncio.run(_warm_up(SimpleNamespace(), SimpleNamespace(models=[], mcp=access)))
loaded = "rtcore.mcp.client" in sys.modules
frozen = loaded and all(
    o is not sys.modules["rtcore.mcp.client"].McpConnection for o in gc.get_objects()
)
print(loaded, frozen)
"""


@pytest.mark.parametrize(
    ("mcp", "expected"),
    [
        ("servers", "True True"),
        # Sessions may name servers by URL, but most never do: loaded on first use, off
        # the loop, not at every start (the import and the collection after it slowed
        # the first WebRTC calls of a server).
        ("urls", "False False"),
        ("none", "False False"),
    ],
)
def test_the_mcp_sdk_is_loaded_and_frozen_at_start_when_servers_are_configured(
    mcp: str, expected: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MCP_PROBE, mcp], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
