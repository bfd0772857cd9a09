"""The shared cooldowns' rules, on a real SQLite file shared by three key stores (as three
processes would): a failure is seen by the others, the later of two ends wins, a deployment
opened again ends the cooldown everywhere but a later failure elsewhere stays, and routers
rank what cools down elsewhere last."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rtcore.config.sections import Routing
from rtcore.keys.store import KeyStore
from rtcore.provider import ModelConfig
from rtcore.routing import Router

ROUTING = Routing(cooldown_seconds=600)


def deployment(name: str, order: int) -> ModelConfig:
    return ModelConfig(name="voice", provider="echo", model="echo-1", deployment=name, order=order)


@pytest.fixture
async def stores(tmp_path: Path) -> AsyncIterator[list[KeyStore]]:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    opened: list[KeyStore] = []
    try:
        for n in range(3):
            opened.append(await KeyStore.open(url, spool_dir=tmp_path / f"spool{n}"))
        yield opened
    finally:
        for store in opened:
            await store.aclose()


def router(store: KeyStore) -> Router:
    routed = Router(ROUTING)
    routed.shared = store.cooldowns
    return routed


async def test_a_failure_is_ranked_last_elsewhere(stores: list[KeyStore]) -> None:
    a, b, c = (router(s) for s in stores)
    first, second = deployment("first", 1), deployment("second", 2)
    assert [m.deployment for m in b.candidates([first, second])] == ["first", "second"]
    a.failed(first)
    await stores[0].cooldowns.refresh()  # what the upkeep does every couple of seconds
    await stores[1].cooldowns.refresh()
    assert b.cooling(first)
    assert not b.cooling(second)
    assert [m.deployment for m in b.candidates([first, second])] == ["second", "first"]
    # Opened again in b: over there at once, and everywhere once written and read.
    b.opened(first)
    assert not b.cooling(first)
    await stores[1].cooldowns.refresh()
    await stores[2].cooldowns.refresh()
    assert not c.cooling(first)


async def test_a_later_failure_elsewhere_outlives_an_opening(stores: list[KeyStore]) -> None:
    a, b, c = (router(s) for s in stores)
    first = deployment("first", 1)
    a.failed(first)
    await stores[0].cooldowns.refresh()
    await stores[1].cooldowns.refresh()
    seen = stores[1].cooldowns.until("first")
    # c fails it later (a longer cooldown), before b, which had read a's, opens it.
    stores[2].cooldowns.failed("first", seen + 60)
    await stores[2].cooldowns.refresh()
    b.opened(first)
    await stores[1].cooldowns.refresh()
    await stores[0].cooldowns.refresh()
    assert stores[0].cooldowns.until("first") == pytest.approx(seen + 60, abs=0.01)
    # An earlier end never shortens a later one.
    stores[0].cooldowns.failed("first", time.time() + 5)
    await stores[0].cooldowns.refresh()
    assert stores[0].cooldowns.until("first") == pytest.approx(seen + 60, abs=0.01)
    assert c.cooling(first)


async def test_without_a_store_cooldowns_are_the_routers_own() -> None:
    a, b = Router(ROUTING), Router(ROUTING)
    first = deployment("first", 1)
    a.failed(first)
    assert a.cooling(first)
    assert not b.cooling(first)
