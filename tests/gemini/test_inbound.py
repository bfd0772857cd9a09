"""Gemini's translator on its own: server messages, as google-genai decodes them, in; the
neutral events the session emits out (the same translator the emulator tests drive)."""

from __future__ import annotations

from google.genai import types as t

from rtcore.provider import messages as n
from rtcore_gemini_live.inbound import Inbound


def audio(data: bytes = b"\x01\x00") -> t.LiveServerMessage:
    blob = t.Blob(data=data, mime_type="audio/pcm;rate=24000")
    return t.LiveServerMessage(
        server_content=t.LiveServerContent(model_turn=t.Content(parts=[t.Part(inline_data=blob)]))
    )


def content(**fields: object) -> t.LiveServerMessage:
    return t.LiveServerMessage(server_content=t.LiveServerContent(**fields))  # type: ignore[arg-type]


def feed(inbound: Inbound, *messages: t.LiveServerMessage, at_ms: int = 1000) -> list[n.Event]:
    return [e for m in messages for e in inbound.feed(m, onset_ms=200, audio_ms=at_ms)]


def kinds(events: list[n.Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def test_geminis_own_answer_to_speech_is_a_response_announced_before_its_audio() -> None:
    inbound = Inbound(("audio",), blocking_tools=True)
    heard = t.LiveServerMessage(
        server_content=t.LiveServerContent(
            input_transcription=t.Transcription(text="hello", finished=False)
        )
    )
    events = feed(inbound, heard, audio(), content(turn_complete=True))
    assert kinds(events) == [
        "SpeechStarted",
        "SpeechStopped",
        "InputTranscript",  # held until the turn stopped: the item comes first
        "ResponseStarted",
        "AudioDelta",
        "InputTranscript",  # final
        "ResponseDone",
    ]
    assert events[2] == n.InputTranscript(item_id=events[0].item_id, text="hello", final=False)  # type: ignore[attr-defined]
    assert events[-1].status == "completed"  # type: ignore[attr-defined]
    assert inbound.turn.heard  # the session's cue to acknowledge the audio


def test_usage_per_modality_goes_into_the_response_that_ends() -> None:
    inbound = Inbound(("audio",), blocking_tools=True)
    usage = t.UsageMetadata(
        prompt_token_count=30,
        prompt_tokens_details=[
            t.ModalityTokenCount(modality=t.MediaModality.AUDIO, token_count=25)
        ],
        response_token_count=50,
        response_tokens_details=[
            t.ModalityTokenCount(modality=t.MediaModality.AUDIO, token_count=40),
            t.ModalityTokenCount(modality=t.MediaModality.TEXT, token_count=6),
        ],
        thoughts_token_count=3,
    )
    done = feed(
        inbound, audio(), t.LiveServerMessage(usage_metadata=usage), content(turn_complete=True)
    )[-1]
    assert done == n.ResponseDone(
        response_id=done.response_id,  # type: ignore[attr-defined]
        usage=n.Usage(
            input_text_tokens=5,
            input_audio_tokens=25,
            output_text_tokens=9,  # text and thinking
            output_audio_tokens=44,  # audio and what the details leave out, in an audio reply
        ),
    )


def test_a_reply_withheld_by_the_safety_filters_is_incomplete_content_filter() -> None:
    inbound = Inbound(("audio",), blocking_tools=True)
    reason = t.TurnCompleteReason.GENERATED_AUDIO_SAFETY
    done = feed(inbound, audio(), content(turn_complete=True, turn_complete_reason=reason))[-1]
    assert (done.status, done.reason) == ("incomplete", "content_filter")  # type: ignore[attr-defined]
    reason = t.TurnCompleteReason.NEED_MORE_INPUT
    done = feed(inbound, audio(), content(turn_complete=True, turn_complete_reason=reason))[-1]
    assert (done.status, done.reason) == ("completed", None)  # type: ignore[attr-defined]


def test_a_blocking_tool_call_ends_the_requested_response_at_the_call() -> None:
    inbound = Inbound(("audio",), blocking_tools=True)
    assert inbound.responses.request(n.CreateResponse(response_id="resp_a"), ("audio",))
    call = t.LiveServerMessage(
        tool_call=t.LiveServerToolCall(
            function_calls=[t.FunctionCall(id="fc_1", name="lookup", args={"q": "x"})]
        )
    )
    events = feed(inbound, call)
    assert events == [
        n.ToolCall(response_id="resp_a", call_id="fc_1", name="lookup", arguments='{"q": "x"}'),
        n.ResponseDone(response_id="resp_a"),
    ]
    assert "fc_1" in inbound.open_calls
    cancelled = t.LiveServerMessage(
        tool_call_cancellation=t.LiveServerToolCallCancellation(ids=["fc_1"])
    )
    feed(inbound, cancelled)
    assert inbound.open_calls == {}


def test_a_barge_in_cancels_the_reply_and_drops_the_rest_of_its_turn() -> None:
    inbound = Inbound(("audio",), blocking_tools=True)
    rid = feed(inbound, audio())[0].response_id  # type: ignore[attr-defined]
    events = feed(inbound, content(interrupted=True), audio(), content(turn_complete=True))
    assert kinds(events) == ["SpeechStarted", "ResponseDone"]
    assert events[1] == n.ResponseDone(response_id=rid, status="cancelled", reason="turn_detected")
    # The next turn is a new one: its output goes to a new response of Gemini's own.
    assert kinds(feed(inbound, audio())) == ["SpeechStopped", "ResponseStarted", "AudioDelta"]


def test_a_cancelled_request_keeps_gemini_generating_and_its_output_is_dropped() -> None:
    inbound = Inbound(("text",), blocking_tools=True)
    inbound.responses.request(n.CreateResponse(response_id="resp_a"), ("text",))
    said = content(output_transcription=t.Transcription(text="one"))
    assert kinds(feed(inbound, said)) == ["TextDelta"]
    events, generating = inbound.responses.cancel("resp_a")
    assert generating  # the session replaces the connection: Gemini has no cancel
    assert kinds(events) == ["ResponseDone"]
    assert feed(inbound, said, content(turn_complete=True)) == []
