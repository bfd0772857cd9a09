"""Nova Sonic v1 answers pending USER text when a short spoken prompt follows it
(``emulator/typed.py``), as clients that offer typed turns on v1 rely on."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from rtcore_sonic_emulator import silence_pcm, utterance_pcm
from tests.emulator.conftest import V1, V2, WEATHER_TOOL
from tests.emulator.sdk_stream import SonicStream


def speech_pcm(seconds: float, rate: int = 16000) -> bytes:
    """Voiced audio that is not a tone code (two partials), padded to end a turn."""
    t = np.arange(round(seconds * rate)) / rate
    wave = 0.2 * np.sin(2 * np.pi * 210 * t) + 0.2 * np.sin(2 * np.pi * 1330 * t)
    voiced = (wave * 32767).astype("<i2").tobytes()
    return silence_pcm(0.2, rate) + voiced + silence_pcm(2.1, rate)


def said(events: list[tuple[str, dict[str, Any]]], role: str) -> list[str]:
    return [b["content"] for n, b in events if n == "textOutput" and b["role"] == role]


async def _typed_then(client: Any, model: str, pcm: bytes, **start: Any) -> Any:
    session = await SonicStream.open(client, model)
    await session.start(audio=False, **start)
    await session.send_text("Hello!", interactive=False)
    await session.open_audio()
    await session.send_audio(pcm)
    return session


async def test_v1_short_prompt_answers_the_pending_text(client: Any) -> None:
    session = await _typed_then(client, V1, speech_pcm(0.6))
    events, _ = await session.until("completionEnd")
    # The transcript is what was heard; the reply answers the typed text.
    assert said(events, "USER") == ["Hello, can you hear me?"]
    assert said(events, "ASSISTANT")[0] == "You said: Hello!"
    await session.close()


async def test_v1_pending_text_can_call_a_tool(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.start(audio=False, tools=[WEATHER_TOOL])
    await session.send_text("What's the weather in Paris?", interactive=False)
    await session.open_audio()
    await session.send_audio(speech_pcm(0.5))
    _, tool_use = await session.until("toolUse")
    assert tool_use["toolName"] == "get_weather"
    assert '"Paris"' in tool_use["content"]
    await session.close()


@pytest.mark.parametrize(
    ("pcm", "answer"),
    [
        (utterance_pcm(0), "You said: Hello."),  # a tone code says what it says
        (speech_pcm(2.5), "You said: Hello, can you hear me?"),  # not a short prompt
    ],
    ids=["tone", "long-speech"],
)
async def test_v1_other_speech_is_answered_for_itself(client: Any, pcm: bytes, answer: str) -> None:
    session = await _typed_then(client, V1, pcm)
    events, _ = await session.until("completionEnd")
    assert said(events, "ASSISTANT")[0] == answer
    await session.close()


async def test_v1_text_is_taken_once_and_an_assistant_reply_clears_it(client: Any) -> None:
    session = await _typed_then(client, V1, speech_pcm(0.6))
    await session.until("completionEnd")
    await session.send_audio(speech_pcm(0.6))
    events, _ = await session.until("completionEnd")
    assert said(events, "ASSISTANT")[0] == "You said: Hello, can you hear me?"
    await session.close()
    session = await SonicStream.open(client, V1)
    await session.start(audio=False, history=[("USER", "Hi"), ("ASSISTANT", "Hello")])
    await session.open_audio()
    await session.send_audio(speech_pcm(0.6))
    events, _ = await session.until("completionEnd")
    assert said(events, "ASSISTANT")[0] == "You said: Hello, can you hear me?"
    await session.close()


async def test_nova2_keeps_non_interactive_text_as_context(client: Any) -> None:
    session = await _typed_then(client, V2, speech_pcm(0.6))
    events, _ = await session.until("completionEnd")
    assert said(events, "ASSISTANT")[0] == "You said: Hello, can you hear me?"
    await session.close()
