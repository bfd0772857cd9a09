"""An operator can follow a session's Bedrock streams in the log: each open, rotation and
recovery at INFO, with the client session's id; and count them in the metrics
(``rtcore_upstream_streams_total`` by reason, under the model of the session's tag)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore.telemetry.context import SessionTag, tagged
from rtcore.telemetry.metrics import metrics
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V2

SESSION = n.SessionConfig(model=V2, session_id="sess_logtest")


def streams(model: str, reason: str) -> float:
    from prometheus_client import REGISTRY

    metrics()  # registered
    value = REGISTRY.get_sample_value(
        "rtcore_upstream_streams_total", {"model": model, "reason": reason}
    )
    return value or 0.0


async def test_opens_rotations_and_recoveries_are_logged_with_the_session(
    emulator: NovaSonicEmulator, open_driver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rtcore.kit.upstream.supervisor")
    before = streams("rotating", "opened"), streams("rotating", "rotated")
    with tagged(SessionTag(session_id="sess_logtest", model="rotating")):
        driver = await open_driver(V2, SESSION, rotate_after_seconds=0.5)
    await driver.audio(utterance_pcm(0))
    await driver.wait_done(1)
    await asyncio.sleep(0.8)  # past rotate_after_seconds, at a boundary
    await driver.audio(utterance_pcm(3))
    await driver.wait_done(2)
    await driver.aclose()
    lines = [r.getMessage() for r in caplog.records if "sess_logtest" in r.getMessage()]
    assert lines[0] == "Bedrock stream opened for session sess_logtest"
    assert "Bedrock stream rotated before the connection limit for session sess_logtest" in lines
    rotations = lines.count(
        "Bedrock stream rotated before the connection limit for session sess_logtest"
    )
    after = streams("rotating", "opened"), streams("rotating", "rotated")
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == rotations >= 1


async def test_a_recovery_is_logged_with_the_session(
    emulator: NovaSonicEmulator, open_driver: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rtcore.kit.upstream.supervisor")
    emulator.inject("stream-error@1")
    before = streams("recovering", "recovered")
    with tagged(SessionTag(session_id="sess_logtest", model="recovering")):
        driver = await open_driver(V2, SESSION)
    await driver.audio(utterance_pcm(0))
    await driver.wait(lambda: bool(driver.of(n.ResponseDone)))
    await driver.audio(utterance_pcm(3))
    await driver.wait_done(2, within=15)
    lines = [r.getMessage() for r in caplog.records if "sess_logtest" in r.getMessage()]
    assert any(line.startswith("Bedrock stream reopened after a failure") for line in lines)
    assert streams("recovering", "recovered") - before == 1
