"""Real clients against ``rtcore serve --provider echo``: one server per test module, on a
free loopback port, started the way users start it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.test_sdk_shapes import BETA, GA
from tests.transports.process import Served


def validate(event: dict[str, Any], dialect: str) -> None:
    """Raises when the event is not a server event of ``dialect`` or lacks a required
    field, as a strict client would. The SDK's own connection parses leniently (it never
    complains), so this is done on the raw JSON with the SDK's pydantic model for the
    event's type."""
    models = GA if dialect == "ga" else BETA
    assert event["type"] in models, f"{event['type']} is not a {dialect} server event"
    if dialect == "beta" and event["type"].startswith("session."):
        # The beta models enumerate OpenAI's own model names; the beta SDK parses leniently
        # and accepts any name. Everything else is checked (as in tests/core).
        event = {**event, "session": {**event["session"], "model": None}}
    models[event["type"]].model_validate(event)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with Served("--provider", "echo") as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr
