"""The plugin contract: entry points, hook specs, and their documentation."""

from __future__ import annotations

import importlib.metadata
import inspect
import re
from pathlib import Path

import pytest

from rtcore import hookimpl, hookspecs
from rtcore.plugins import DuplicateName, load_plugins
from rtcore.provider import ProviderSpec

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(
    name for name, _ in inspect.getmembers(hookspecs.RtcoreSpecs) if name.startswith("rtcore_")
)


def test_builtin_plugins_register_through_entry_points() -> None:
    # Catches a stale install as well as a plugin registered some other way.
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="rtcore")}
    assert names["bedrock-sonic"] == "rtcore_bedrock_sonic.plugin"
    assert names["websocket"] == "rtcore_websocket.plugin"
    assert names["stdio"] == "rtcore_stdio.plugin"
    assert names["sonic-emulator"] == "rtcore_sonic_emulator.plugin"
    pytest_plugins = importlib.metadata.entry_points(group="pytest11")
    assert {ep.name: ep.value for ep in pytest_plugins}["rtcore"] == "rtcore.testing.plugin"


def test_loaded_host_offers_builtin_transports_and_providers() -> None:
    host = load_plugins()
    assert {"websocket", "stdio"} <= set(host.transports())
    assert "bedrock-sonic" in host.providers()
    assert "emulator" in host.commands()
    assert not host.broken


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    assert re.search(rf"^### {hook}$", docs, re.MULTILINE), f"docs/plugins.md lacks {hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook: str) -> None:
    here = Path(__file__).resolve()
    users = [
        p
        for p in (ROOT / "tests").rglob("*.py")
        if p != here and hook in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert users, f"no test exercises {hook}"


def test_duplicate_provider_names_are_refused() -> None:
    class One:
        @hookimpl
        def rtcore_register_providers(self) -> list[ProviderSpec]:
            return [ProviderSpec(name="same", factory=lambda _m: None, default_model="m")]  # type: ignore[arg-type, return-value]

    host = load_plugins(entry_points=False, extra_plugins=[("a", One()), ("b", One())])
    with pytest.raises(DuplicateName, match="same"):
        host.providers()


def test_disabled_plugin_is_not_loaded() -> None:
    host = load_plugins(disabled=["stdio"])
    assert "stdio" not in host.transports()
    assert "websocket" in host.transports()
