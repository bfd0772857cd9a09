"""Audio and text turns through the real SDK, every event checked against the reference shapes."""

from __future__ import annotations

import base64
import json
from typing import Any

from rtcore_sonic_emulator import NovaSonicEmulator, utterance_pcm
from rtcore_sonic_emulator.voice import speech_seconds
from tests.emulator.conftest import V1, V2, V2_5
from tests.emulator.sdk_stream import SonicStream


def names(events: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in events]


async def test_audio_turn_yields_transcript_reply_audio_and_usage(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.start(voice="tiffany")
    await session.send_audio(utterance_pcm(1))
    events, end = await session.until("completionEnd")
    assert end["stopReason"] == "END_TURN"
    kinds = names(events)
    assert kinds[:5] == [
        "completionStart",
        "contentStart",
        "textOutput",
        "contentEnd",
        "usageEvent",
    ]
    user_start, user_text, user_end = events[1][1], events[2][1], events[3][1]
    assert (user_start["type"], user_start["role"]) == ("TEXT", "USER")
    assert json.loads(user_start["additionalModelFields"]) == {"generationStage": "FINAL"}
    assert user_text["content"] == "What is the weather like in Paris?"
    assert user_end["stopReason"] == "PARTIAL_TURN"
    stages = [
        json.loads(body["additionalModelFields"])["generationStage"]
        for name, body in events
        if name == "contentStart" and body["type"] == "TEXT" and body["role"] == "ASSISTANT"
    ]
    assert stages == ["SPECULATIVE", "FINAL"]
    reply = "You said: What is the weather like in Paris?"
    texts = [b["content"] for n, b in events if n == "textOutput" and b["role"] == "ASSISTANT"]
    assert texts == [reply, reply]
    audio = b"".join(base64.b64decode(b["content"]) for n, b in events if n == "audioOutput")
    assert abs(len(audio) / 2 / 24000 - speech_seconds(reply)) < 0.01
    audio_start = next(b for n, b in events if n == "contentStart" and b["type"] == "AUDIO")
    assert audio_start["audioOutputConfiguration"]["sampleRateHertz"] == 24000
    ends = [b["stopReason"] for n, b in events if n == "contentEnd"]
    assert ends == ["PARTIAL_TURN", "PARTIAL_TURN", "END_TURN", "END_TURN"]
    usage = [b for n, b in events if n == "usageEvent"]
    assert usage[0]["details"]["delta"]["input"]["speechTokens"] == 15  # 0.6 s at 25 tokens/s
    assert usage[-1]["details"]["total"]["output"]["speechTokens"] > 0
    assert usage[-1]["totalTokens"] > usage[0]["totalTokens"]
    await session.close()
    assert await session.next() is None


async def test_multi_turn_scripted_and_output_rate(
    emulator: NovaSonicEmulator, client: Any
) -> None:
    emulator.script.say(7, "My name is Ada.", reply="Nice to meet you, Ada.")
    emulator.script.say(8, "Bye.")
    session = await SonicStream.open(client, V2)
    await session.start(voice="amy", output_rate=16000, input_rate=8000, sensitivity="HIGH")
    await session.send_audio(
        utterance_pcm(7, sample_rate=8000) + utterance_pcm(8, sample_rate=8000)
    )
    first, _ = await session.until("completionEnd")
    second, _ = await session.until("completionEnd")
    said = [[b["content"] for n, b in turn if n == "textOutput"] for turn in (first, second)]
    assert said[0] == ["My name is Ada.", "Nice to meet you, Ada.", "Nice to meet you, Ada."]
    assert said[1] == ["Bye.", "You said: Bye.", "You said: Bye."]
    starts = [b for n, b in first if n == "contentStart" and b["type"] == "AUDIO"]
    assert starts[0]["audioOutputConfiguration"]["sampleRateHertz"] == 16000
    await session.close()


async def test_unrecognised_speech_from_a_wav_style_stream(client: Any) -> None:
    from rtcore_sonic_emulator import voice

    spoken = voice.synthesize("Some words spoken by a person.", "matthew", 16000)
    session = await SonicStream.open(client, V1)
    await session.start()
    await session.send_audio(spoken + bytes(2 * 16000 * 2))
    events, _ = await session.until("completionEnd")
    assert events[2][1]["content"] == "Hello, can you hear me?"
    await session.close()


async def test_nova2_answers_interactive_text(client: Any) -> None:
    session = await SonicStream.open(client, V2)
    await session.start(audio=False)
    await session.send_text("Hi there")
    events, end = await session.until("completionEnd")
    assert end["stopReason"] == "END_TURN"
    assert names(events)[:2] == ["completionStart", "usageEvent"]  # no transcript for typed text
    texts = [b["content"] for n, b in events if n == "textOutput"]
    assert texts == ["You said: Hi there", "You said: Hi there"]
    await session.close()


async def test_v1_ignores_interactive_text_but_answers_speech(client: Any) -> None:
    session = await SonicStream.open(client, V1)
    await session.start(history=[("USER", "Earlier question"), ("ASSISTANT", "Earlier answer")])
    await session.send(
        "contentEnd", {"promptName": session.prompt, "contentName": session.audio_content}
    )
    await session.send_text("Hi there")
    await session.open_audio()
    await session.send_audio(utterance_pcm(0))
    events, _ = await session.until("completionEnd")
    assert next(b["content"] for n, b in events if n == "textOutput") == "Hello."
    await session.close()


async def test_nova2_reports_the_users_speech_as_it_hears_it(client: Any) -> None:
    # userSpeechStart / userSpeechEnd with inputAudioOffsetMs, outside any completion
    # (LiteLLM issue 38346's capture of amazon.nova-2-sonic-v1:0); v1 sends neither.
    for model, expected in (
        (V2, ["userSpeechStart", "userSpeechEnd"]),
        (V2_5, ["userSpeechStart", "userSpeechEnd"]),
        (V1, []),
    ):
        session = await SonicStream.open(client, model)
        await session.start()
        await session.send_audio(utterance_pcm(0, lead_silence=0.5))
        await session.until("completionEnd")
        signals = session.speech_signals
        assert [name for name, _ in signals] == expected, model
        if signals:
            start, end = signals[0][1], signals[1][1]
            # Speech begins at 0.5 s; the offset is where the 64 ms chunk in which the onset
            # was confirmed (a few voiced 20 ms frames) begins.
            assert 400 <= start["inputAudioOffsetMs"] <= 650
            assert end["inputAudioOffsetMs"] > start["inputAudioOffsetMs"] + 600
            assert end["inputAudioDetectionOffsetMs"] == end["inputAudioOffsetMs"]
        await session.close()
