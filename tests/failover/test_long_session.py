"""A long spoken session (its limits shortened) behind ``rtcore serve``: it crosses each
vendor's cap on its own deployment (Nova's stream limit, Gemini's goAway, OpenAI's session
cap: the provider continues on a new connection) and fails over twice when a new connection
is refused (Nova throttled, Gemini's quota used up), and every utterance is answered, whole,
by whichever model the session is on."""

from __future__ import annotations

import re
from pathlib import Path

from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_openai_emulator import OpenAIRealtimeEmulator
from rtcore_sonic_emulator import NovaSonicEmulator
from tests.failover.conftest import Caller, write_config
from tests.failover.test_across_vendors import answer, assert_whole, moved, moves, session
from tests.transports.process import Served
from tests.transports.test_operations import sample, scrape

# Each vendor's limit in seconds instead of minutes: Nova's 8-minute streams (rotated at a
# turn boundary after 2 s), Gemini's ~10-minute connections (goAway 1.5 s before the end),
# OpenAI's 60-minute sessions.
NOVA_LIMIT = 4.0
GEMINI_LIFETIME = 4.0
OPENAI_CAP = 4.0
ROTATED = re.compile(r"(Bedrock|Gemini|openai) stream rotated")


def rotations(served: Served, name: str) -> int:
    return sum(m.group(1) == name for line in served.lines if (m := ROTATED.search(line)))


class Conversation:
    """Utterances one after another (no tool question, no story, no "Stop."), each waited
    for and checked whole."""

    def __init__(self, caller: Caller, served: Served) -> None:
        self.caller = caller
        self.served = served
        self.said: list[int] = []
        self._slots = (s for s in range(32) if s not in (1, 2, 5))

    async def talk(self) -> None:
        slot = next(self._slots)
        self.said.append(slot)
        await self.caller.say(slot)
        assert_whole(await self.caller.answered(len(self.said)), answer(slot))

    async def crossed(self, name: str) -> None:
        """Waits (idle) for the provider ``name`` to replace its connection, then talks on
        the new one; twice."""
        for _ in range(2):
            before = rotations(self.served, name)
            await self.caller.until(lambda b=before: rotations(self.served, name) > b, within=30)
            await self.talk()


async def test_a_long_session_crosses_every_cap_and_two_failovers(
    tmp_path: Path,
    nova: NovaSonicEmulator,
    gemini: GeminiLiveEmulator,
    openai: OpenAIRealtimeEmulator,
) -> None:
    nova.connection_limit = NOVA_LIMIT
    gemini.settings.connection_lifetime = GEMINI_LIFETIME
    gemini.settings.go_away_notice = 1.5
    openai.session_cap = OPENAI_CAP
    config = write_config(
        tmp_path,
        nova,
        gemini,
        openai,
        nova_params={"rotate_after_seconds": 2.0, "connection_limit_seconds": NOVA_LIMIT},
        openai_params={"session_cap_seconds": OPENAI_CAP},
        failback=False,
    )
    async with Served("--config", str(config)) as served, session(served) as caller:
        conversation = Conversation(caller, served)
        await conversation.talk()
        await conversation.crossed("Bedrock")
        # Nova starts throttling: its next rotation cannot open, and the session moves on
        # between turns (nothing in flight, nothing failed).
        nova.inject("throttle", connections=1000)
        await moved(served, caller, 1)
        await conversation.talk()
        await conversation.crossed("Gemini")
        # Gemini's quota runs out: its next connection is refused, and OpenAI takes over.
        gemini.inject("quota", connections=1000)
        await moved(served, caller, 2)
        await conversation.talk()
        await conversation.crossed("openai")
        said = conversation.said

        assert moves(served) == [
            ("nova", "gemini", "failover"),
            ("gemini", "openai", "failover"),
        ], served.stderr
        assert not caller.of("error"), caller.of("error")
        done = [e["response"]["id"] for e in caller.of("response.done")]
        assert len(done) == len(set(done)) == len(said)
        _, metrics = await scrape(served.port)
    for deployment in ("nova", "gemini", "openai"):
        assert (
            sample(
                metrics,
                "rtcore_upstream_switches_total",
                reason="rotated",
                **{"from": deployment, "to": deployment},
            )
            >= 2
        ), metrics
