"""Every emulator fault, mid-reply, on both models, with the user speaking on through it:
the reply the fault breaks fails (or is recovered), the session goes on, and no speech is
lost. Counted on the model's side: the speech each stream heard (the emulator's VAD: tone
slot and voiced seconds of every turn) against what the client said."""

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
TONE_SECONDS = 0.6  # utterance_pcm's default
# The VAD counts 20 ms frames from the stream's first byte: a tone can straddle one more.
FRAME_SECONDS = 0.02


def _heard(emulator: NovaSonicEmulator, slot: int) -> list[float]:
    """Voiced seconds of every turn, on any stream, that the model heard as ``slot``."""
    return [s for r in emulator.stats.streams for k, s in r.heard if k == slot]


@pytest.mark.parametrize("model", [V1, V2])
@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_mid_reply_loses_no_speech(
    emulator: NovaSonicEmulator, open_driver: Any, fault: str, model: str
) -> None:
    emulator.inject(f"{fault}@1")
    driver = await open_driver(model, stall_timeout_seconds=1.0)
    hello, goodbye = utterance_pcm(0), utterance_pcm(3)
    await driver.audio(hello)  # "Hello.": the fault hits its reply, at its first audio
    await driver.wait(lambda: emulator.stats.responses >= 1, within=15)
    # The user goes on speaking as the stream breaks under the reply.
    await driver.audio(goodbye)
    await driver.wait(
        lambda: any(t.text == "Thank you, goodbye." for t in driver.of(n.InputTranscript)),
        within=20,
    )
    await driver.wait(
        lambda: (
            len(driver.of(n.ResponseDone)) >= 2
            and driver.of(n.ResponseDone)[-1].status == "completed"
        ),
        within=20,
    )
    assert not [e for e in driver.of(n.ProviderError) if e.fatal]
    assert emulator.stats.opened >= 2  # a new stream took over
    transcripts = [t.text for t in driver.of(n.InputTranscript) if t.final]
    assert transcripts[-1] == "Thank you, goodbye."

    # The model's side of it: both utterances reached a stream whole, to the frame; none
    # cut short by the break, none with a piece heard twice (a replay overlapping what
    # followed it). Silence after Nova had answered may be left with the broken stream.
    assert sum(r.audio_bytes for r in emulator.stats.streams) >= len(goodbye)
    for slot in (0, 3):
        seconds = _heard(emulator, slot)
        assert seconds, f"utterance {slot} never heard"
        assert all(abs(s - TONE_SECONDS) <= FRAME_SECONDS for s in seconds), (slot, seconds)
