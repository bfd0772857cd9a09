"""Turn control as OpenAI defines it, on a model that answers every turn by itself.

With push-to-talk (``turn_detection: null``) or ``create_response: false`` the server
starts nothing: Nova's own answer is held until the client's ``response.create`` claims it,
and is dropped if the user takes another turn first. With ``interrupt_response: false``
speech during a reply does not cut it: Nova hears it after the reply, as the next turn.
The real provider against the emulator, on both models.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtcore.provider import messages as n
from rtcore_sonic_emulator import NovaSonicEmulator, silence_pcm, utterance_pcm
from tests.bedrock.conftest import V1, V2, until

MODELS = [V1, V2]
SERVER_VAD_ASKING = n.TurnDetection(create_response=False)


async def answered_upstream(emulator: NovaSonicEmulator, count: int) -> None:
    """Nova has answered ``count`` turns (its reply has gone out, unpaced)."""
    await until(lambda: emulator.stats.responses >= count)
    await asyncio.sleep(0.3)


def said(driver: Any, response_id: str) -> str:
    return "".join(e.text for e in driver.of(n.TranscriptDelta) if e.response_id == response_id)


@pytest.mark.parametrize("model", MODELS)
async def test_push_to_talk_answer_waits_for_response_create(
    emulator: NovaSonicEmulator, open_driver: Any, model: str
) -> None:
    driver = await open_driver(model, n.SessionConfig(model=model, turn_detection=None))
    await driver.audio(utterance_pcm(0, trail_silence=0.1))
    await driver.send(n.CommitAudio(item_id="item_ptt"))
    await answered_upstream(emulator, 1)
    # Nova has answered; the client has not asked: nothing of it is seen.
    assert not driver.of(n.ResponseStarted)
    assert not driver.of(n.AudioDelta)
    assert not driver.of(n.SpeechStarted)
    assert [(e.item_id, e.text) for e in driver.of(n.InputTranscript)] == [("item_ptt", "Hello.")]
    await driver.send(n.CreateResponse(response_id="resp_asked"))
    (done,) = await driver.wait_done(1)
    assert (done.response_id, done.status) == ("resp_asked", "completed")
    assert said(driver, "resp_asked") == "You said: Hello."
    assert {e.response_id for e in driver.of(n.AudioDelta)} == {"resp_asked"}
    assert not driver.of(n.ResponseStarted)  # the server started nothing itself


@pytest.mark.parametrize("model", MODELS)
async def test_create_response_false_keeps_the_turn_and_waits(
    emulator: NovaSonicEmulator, open_driver: Any, model: str
) -> None:
    config = n.SessionConfig(model=model, turn_detection=SERVER_VAD_ASKING)
    driver = await open_driver(model, config)
    await driver.audio(utterance_pcm(0))
    await answered_upstream(emulator, 1)
    # The turn is detected and transcribed as usual; no response starts.
    (started,) = driver.of(n.SpeechStarted)
    (heard,) = driver.of(n.InputTranscript)
    assert started.item_id == heard.item_id
    assert heard.text == "Hello."
    assert not driver.of(n.ResponseStarted)
    assert not driver.of(n.ResponseDone)
    await driver.send(n.CreateResponse(response_id="resp_later"))
    (done,) = await driver.wait_done(1)
    assert done.response_id == "resp_later"
    assert said(driver, "resp_later") == "You said: Hello."


@pytest.mark.parametrize("model", MODELS)
async def test_a_held_answer_is_dropped_when_the_user_speaks_again(
    emulator: NovaSonicEmulator, open_driver: Any, model: str
) -> None:
    config = n.SessionConfig(model=model, turn_detection=SERVER_VAD_ASKING)
    driver = await open_driver(model, config)
    await driver.audio(utterance_pcm(0))  # "Hello."
    await answered_upstream(emulator, 1)
    await driver.audio(utterance_pcm(3))  # "Thank you, goodbye."
    await answered_upstream(emulator, 2)
    await driver.send(n.CreateResponse(response_id="resp_now"))
    (done,) = await driver.wait_done(1)
    assert done.response_id == "resp_now"
    assert said(driver, "resp_now") == "You said: Thank you, goodbye."
    assert len(driver.of(n.InputTranscript)) == 2


@pytest.mark.parametrize("model", MODELS)
async def test_cancelling_a_claimed_answer_cancels_it_upstream(
    emulator: NovaSonicEmulator, open_driver: Any, model: str
) -> None:
    emulator.realtime_factor = 0.3  # the story is still being spoken when it is cancelled
    driver = await open_driver(model, n.SessionConfig(model=model, turn_detection=None))
    await driver.audio(utterance_pcm(2, trail_silence=0.1))  # a long story
    await driver.send(n.CommitAudio(item_id="item_story"))
    await driver.send(n.CreateResponse(response_id="resp_story"))
    await driver.wait(lambda: bool(driver.of(n.AudioDelta)))
    await driver.send(n.CancelResponse(response_id="resp_story"))
    (done,) = await driver.wait_done(1)
    assert (done.response_id, done.status, done.reason) == (
        "resp_story",
        "cancelled",
        "client_cancelled",
    )


@pytest.mark.parametrize("model", MODELS)
async def test_interrupt_response_false_lets_the_reply_finish(
    emulator: NovaSonicEmulator, open_driver: Any, model: str
) -> None:
    emulator.realtime_factor = 0.2  # slow enough that speech lands mid-reply
    td = n.TurnDetection(interrupt_response=False)
    driver = await open_driver(model, n.SessionConfig(model=model, turn_detection=td))
    await driver.audio(utterance_pcm(2))  # a long story
    await driver.wait(lambda: bool(driver.of(n.AudioDelta)))
    await driver.audio(utterance_pcm(5))  # "Stop." over it
    # The speech is announced as it happens, but the reply is not cut.
    await driver.wait(lambda: len(driver.of(n.SpeechStarted)) == 2)
    dones = await driver.wait_done(1, within=20)
    assert dones[0].status == "completed"
    # Then Nova hears "Stop." as the next turn, and answers it.
    await driver.audio(silence_pcm(0.2))
    dones = await driver.wait_done(2, within=20)
    assert dones[1].status == "completed"
    assert driver.of(n.InputTranscript)[-1].text == "Stop."
