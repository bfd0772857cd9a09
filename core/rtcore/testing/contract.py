"""The provider contract: what every provider owes the core, as tests any provider runs.

Subclass ``ProviderContract`` in the provider's own tests and give it ``contract_provider``
(the provider, paced so that a reply to ``QUESTION`` streams for a second or more: long
enough to be cancelled or spoken over). Optional fixtures open more of the contract; each
test that needs one it was not given is skipped:

- ``contract_speech``: a ``Speech`` its turn detection hears as one user turn;
- ``contract_reconnect``: ``async (driver) -> None`` that makes the provider's upstream for
  that session reconnect now, as a dropped connection would (returning once it has);
- ``contract_unreachable``: a provider configured like ``contract_provider`` whose upstream
  cannot be reached.

Commands are sent as the core sends them: ``AddItem`` after a commit, every ``AddItem``
naming the item it follows. The tests are marked for pytest-asyncio, so they run in its
strict mode as in its auto mode.

Every test checks the rule the core relies on: each response ends with exactly one
``ResponseDone`` for its id, and nothing of it follows that done.

The tests live by what they exercise: ``contract_responses.py`` (responses the core asks
for), ``contract_turns.py`` (turns the provider detects), ``contract_known_bugs.py`` (what
real providers got wrong); what they send and look for in ``inputs.py`` and ``checks.py``.
"""

from __future__ import annotations

import pytest

from rtcore.provider import Provider
from rtcore.testing.checks import assert_one_done, requires, said
from rtcore.testing.contract_known_bugs import KnownProviderBugs
from rtcore.testing.contract_responses import RequestedResponses
from rtcore.testing.contract_turns import DetectedTurns
from rtcore.testing.inputs import (
    QUESTION,
    WEATHER,
    WEATHER_QUESTION,
    WEATHER_RESULT,
    OpenSession,
    Reconnect,
    Speech,
)

# What a provider's tests may take from here besides the suite itself.
__all__ = [
    "QUESTION",
    "WEATHER",
    "WEATHER_QUESTION",
    "WEATHER_RESULT",
    "OpenSession",
    "ProviderContract",
    "Reconnect",
    "Speech",
    "assert_one_done",
    "requires",
    "said",
]


class ProviderContract(RequestedResponses, DetectedTurns, KnownProviderBugs):
    # How long a test waits for what the provider owes (a safety net for a hung provider,
    # not a pace): a subclass may change it.
    within: float = 30.0

    @pytest.fixture
    def contract_speech(self) -> Speech | None:
        return None

    @pytest.fixture
    def contract_reconnect(self) -> Reconnect | None:
        return None

    @pytest.fixture
    def contract_unreachable(self) -> Provider | None:
        return None

    @pytest.fixture
    def speech(self, contract_speech: Speech | None) -> Speech:
        if contract_speech is None:
            pytest.skip("the provider under test gave no contract_speech")
        return contract_speech

    @pytest.fixture
    def reconnect(self, contract_reconnect: Reconnect | None) -> Reconnect:
        if contract_reconnect is None:
            pytest.skip("the provider under test gave no contract_reconnect")
        return contract_reconnect
