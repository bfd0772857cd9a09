"""Every emulator fault, mid-reply, on both models: the reply it breaks fails (or is
recovered), the session goes on, and no speech is lost: what the user says next is heard,
transcribed and answered."""

from __future__ import annotations

from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from tests.bedrock.conftest import V1, V2

FAULTS = [
    "stream-error",
    "unavailable",
    "rst531",
    "instability",
    "internal",
    "timeout",
    "reset",
    "stall",
]


@pytest.mark.parametrize("model", [V1, V2])
@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_mid_reply_loses_no_speech(
    emulator: NovaSonicEmulator, open_driver: Any, fault: str, model: str
) -> None:
    emulator.inject(f"{fault}@1")
    driver = await open_driver(model, stall_timeout_seconds=1.0)
    await driver.audio(utterance_pcm(0))  # "Hello.": the fault hits its reply
    await driver.wait(lambda: len(driver.of(n.ResponseDone)) >= 1, within=15)
    await driver.audio(utterance_pcm(3))  # "Thank you, goodbye." after it
    await driver.wait(
        lambda: any(t.text == "Thank you, goodbye." for t in driver.of(n.InputTranscript)),
        within=20,
    )
    await driver.wait(
        lambda: (
            driver.of(n.ResponseDone)[-1].status == "completed"
            and len(driver.of(n.ResponseDone)) >= 2
        ),
        within=20,
    )
    assert not [e for e in driver.of(n.ProviderError) if e.fatal]
    assert emulator.stats.opened >= 2  # a new stream took over
    transcripts = [t.text for t in driver.of(n.InputTranscript) if t.final]
    assert transcripts[-1] == "Thank you, goodbye."
