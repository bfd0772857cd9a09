"""Nova output sequences (as Bedrock sends them) -> neutral events, with no I/O."""

from __future__ import annotations

import base64
import json
from typing import Any

from rtcore.provider import messages as n
from rtcore.testing.ids import ANY_ID as ANY
from rtcore.testing.ids import anonymous
from rtcore_bedrock_sonic import events as ev
from rtcore_bedrock_sonic.content import is_interrupt_marker, normalize_arguments
from rtcore_bedrock_sonic.translate import Inbound

SPEC = json.dumps({"generationStage": "SPECULATIVE"})
FINAL = json.dumps({"generationStage": "FINAL"})


def e(name: str, **body: Any) -> ev.OutputEvent:
    return ev.decode(json.dumps({"event": {name: body}}).encode())


def start(cid: str, kind: str, role: str, stage: str | None = None) -> ev.OutputEvent:
    body: dict[str, Any] = {"contentId": cid, "type": kind, "role": role}
    if stage:
        body["additionalModelFields"] = stage
    return e("contentStart", **body)


def text(cid: str, content: str) -> ev.OutputEvent:
    return e("textOutput", contentId=cid, content=content)


def audio(cid: str, pcm: bytes) -> ev.OutputEvent:
    return e("audioOutput", contentId=cid, content=base64.b64encode(pcm).decode())


def end(cid: str, kind: str, reason: str) -> ev.OutputEvent:
    return e("contentEnd", contentId=cid, type=kind, stopReason=reason)


def usage(in_speech: int = 0, out_speech: int = 0, out_text: int = 0) -> ev.OutputEvent:
    delta = {
        "input": {"speechTokens": in_speech, "textTokens": 0},
        "output": {"speechTokens": out_speech, "textTokens": out_text},
    }
    return e("usageEvent", details={"delta": delta})


def spoken_turn(reply: str = "Hi there.", stop: str = "END_TURN") -> list[ev.OutputEvent]:
    return [
        e("completionStart"),
        start("u1", "TEXT", "USER", FINAL),
        text("u1", "hello"),
        end("u1", "TEXT", "PARTIAL_TURN"),
        usage(in_speech=10),
        start("s1", "TEXT", "ASSISTANT", SPEC),
        text("s1", reply),
        end("s1", "TEXT", "PARTIAL_TURN"),
        start("a1", "AUDIO", "ASSISTANT"),
        audio("a1", b"\x01\x00" * 4),
        end("a1", "AUDIO", stop),
        start("f1", "TEXT", "ASSISTANT", FINAL),
        text("f1", reply if stop == "END_TURN" else '{ "interrupted" : true }'),
        end("f1", "TEXT", stop),
        usage(out_speech=7, out_text=3),
        e("completionEnd", stopReason=stop),
    ]


def requested(inbound: Inbound, response_id: str, modalities: tuple[n.Modality, ...]) -> None:
    inbound.request(n.CreateResponse(response_id=response_id), modalities)


def run(inbound: Inbound, seq: list[ev.OutputEvent]) -> list[n.Event]:
    out: list[n.Event] = []
    for event in seq:
        out += inbound.feed(event, audio_ms=5000, onset_ms=1200)
    return out + inbound.flush()


def test_spoken_turn_with_audio() -> None:
    raw = run(Inbound(("audio",)), spoken_turn())
    # One item id for the user's turn; the response announced under its own id, then used.
    assert len({x.item_id for x in raw[:3]}) == 1  # type: ignore[union-attr]
    assert len({x.response_id for x in raw[3:]}) == 1  # type: ignore[union-attr]
    out = raw
    kinds = [type(x).__name__ for x in out]
    assert kinds == [
        "SpeechStarted",
        "SpeechStopped",
        "InputTranscript",
        "ResponseStarted",
        "TranscriptDelta",  # the planned words, before their audio: captions keep up
        "AudioDelta",
        "ResponseDone",
    ]
    out = anonymous(out)
    assert out[0] == n.SpeechStarted(item_id=ANY, audio_start_ms=1200)
    assert out[2] == n.InputTranscript(item_id=ANY, text="hello", final=True)
    assert out[4] == n.TranscriptDelta(response_id=ANY, text="Hi there.")
    # FINAL repeats the words after the audio: not sent twice.
    assert len([x for x in out if isinstance(x, n.TranscriptDelta)]) == 1
    done = out[-1]
    assert isinstance(done, n.ResponseDone)
    assert done.status == "completed"
    # usage that arrives after END_TURN still lands in this response
    assert done.usage == n.Usage(input_audio_tokens=10, output_audio_tokens=7, output_text_tokens=3)


def test_text_only_uses_speculative_text_and_drops_audio() -> None:
    out = run(Inbound(("text",)), spoken_turn("Bonjour."))
    texts = [x for x in anonymous(out) if isinstance(x, n.TextDelta)]
    assert texts == [n.TextDelta(response_id=ANY, text="Bonjour.")]
    assert not [x for x in out if isinstance(x, n.AudioDelta | n.TranscriptDelta)]


def test_barge_in_cancels_and_never_leaks_marker() -> None:
    inbound = Inbound(("text", "audio"))
    seq = spoken_turn(stop="INTERRUPTED")
    out = run(inbound, seq)
    assert not any(
        isinstance(x, n.TextDelta | n.TranscriptDelta) and "interrupted" in x.text for x in out
    )
    dones = [x for x in out if isinstance(x, n.ResponseDone)]
    assert anonymous(dones) == [
        n.ResponseDone(
            response_id=ANY, status="cancelled", reason="turn_detected", usage=dones[0].usage
        )
    ]
    # the user's new turn: announced once, then closed by the next response
    out = run(inbound, [start("u2", "TEXT", "USER", FINAL), text("u2", "stop"), *spoken_turn()[4:]])
    assert [type(x).__name__ for x in out][:3] == [
        "SpeechStopped",
        "InputTranscript",
        "ResponseStarted",
    ]
    assert anonymous(out)[1] == n.InputTranscript(item_id=ANY, text="stop")


def test_marker_variants() -> None:
    assert is_interrupt_marker('{ "interrupted" : true }')
    assert is_interrupt_marker('{"interrupted":true}\n')
    assert not is_interrupt_marker("I was interrupted yesterday")


def test_tool_call_ends_response_and_continuation_needs_no_started() -> None:
    inbound = Inbound(("text",))
    requested(inbound, "r1", ("text",))
    out = run(
        inbound,
        [
            e("completionStart"),
            start("t1", "TOOL", "TOOL"),
            e(
                "toolUse",
                contentId="t1",
                toolName="get_weather",
                toolUseId="tu-1",
                content=json.dumps(json.dumps({"location": "Paris"})),
            ),
            end("t1", "TOOL", "TOOL_USE"),
            usage(out_text=5),
        ],
    )
    assert out[0] == n.ToolCall(
        response_id="r1", call_id="tu-1", name="get_weather", arguments='{"location": "Paris"}'
    )
    assert isinstance(out[1], n.ResponseDone)
    assert out[1].usage.output_text_tokens == 5
    assert "tu-1" in inbound.open_tool_calls
    requested(inbound, "r2", ("text",))
    out = run(inbound, spoken_turn("Sunny.")[5:])
    assert not any(isinstance(x, n.ResponseStarted) for x in out)
    assert n.TextDelta(response_id="r2", text="Sunny.") in out


def test_client_cancel_drops_the_rest() -> None:
    inbound = Inbound(("audio",))
    out = run(inbound, spoken_turn()[:10])
    started = next(x for x in out if isinstance(x, n.ResponseStarted))
    assert inbound.cancel("resp_other") == ([], False)  # not the active response: a no-op
    out, stop = inbound.cancel(started.response_id)
    assert stop  # Nova has no cancel: it must be stopped
    done = out[-1]
    assert isinstance(done, n.ResponseDone)
    assert done.status == "cancelled"
    assert done.reason == "client_cancelled"
    rest = run(inbound, spoken_turn()[10:])
    assert not any(isinstance(x, n.AudioDelta | n.TranscriptDelta | n.ResponseDone) for x in rest)


def test_a_request_after_a_cancel_gets_the_next_completion_not_the_cancelled_one() -> None:
    inbound = Inbound(("text",))
    requested(inbound, "r1", ("text",))
    run(inbound, spoken_turn("First answer.")[:6])
    inbound.cancel("r1")
    requested(inbound, "r2", ("text",))
    # Nova finishes the cancelled completion, then answers the next turn.
    out = run(inbound, spoken_turn("First answer.")[6:] + spoken_turn("Second answer.")[4:])
    texts = "".join(x.text for x in out if isinstance(x, n.TextDelta))
    assert texts == "Second answer."
    assert {x.response_id for x in out if isinstance(x, n.TextDelta | n.ResponseDone)} == {"r2"}


def test_a_request_made_before_the_last_completion_ended_waits_for_its_own_answer() -> None:
    # response.done goes out at the usage event; a client that asks again at once (a typed
    # turn) does so before Nova's completionEnd of the turn just answered.
    inbound = Inbound(("text",))
    first = run(inbound, spoken_turn("First answer.")[:-1])
    assert [x.status for x in first if isinstance(x, n.ResponseDone)] == ["completed"]
    requested(inbound, "typed", ("text",))
    out = run(inbound, [e("completionEnd", stopReason="END_TURN")])
    assert not [x for x in out if isinstance(x, n.ResponseDone)]  # not ended by the old end
    answer = spoken_turn("You said: typed.")
    out = run(inbound, [answer[0], *answer[5:]])  # Nova's answer to the text
    texts = "".join(x.text for x in out if isinstance(x, n.TextDelta))
    assert texts == "You said: typed."
    assert [(x.response_id, x.status) for x in out if isinstance(x, n.ResponseDone)] == [
        ("typed", "completed")
    ]


def test_suppressed_trigger_turn_is_hidden() -> None:
    inbound = Inbound(("text",))
    requested(inbound, "r1", ("text",))
    inbound.suppress_next_user_turn = True
    out = run(inbound, spoken_turn())
    assert not any(
        isinstance(x, n.SpeechStarted | n.InputTranscript | n.ResponseStarted) for x in out
    )
    assert isinstance(out[-1], n.ResponseDone)


def test_arguments_normalized() -> None:
    assert normalize_arguments('{"a": 1}') == '{"a": 1}'
    assert normalize_arguments(json.dumps('{"a": 1}')) == '{"a": 1}'
    assert normalize_arguments("") == "{}"


def test_failure_closes_open_response() -> None:
    inbound = Inbound(("audio",))
    run(inbound, spoken_turn()[:9])
    out = inbound.fail(n.ResponseError(code="server_error", message="gone"))
    assert out
    assert isinstance(out[-1], n.ResponseDone)
    assert out[-1].status == "failed"


def test_a_failure_with_a_request_waiting_leaves_nothing_active() -> None:
    # Nova answers on its own; a request waits behind it; the stream breaks: both fail, and
    # the next stream's answer is Nova's own again, announced and ended.
    inbound = Inbound(("audio",))
    run(inbound, spoken_turn()[:9])
    requested(inbound, "r1", ("audio",))
    out = inbound.fail(n.ResponseError(code="server_error", message="gone"))
    assert [x.status for x in out if isinstance(x, n.ResponseDone)] == ["failed", "failed"]
    assert not inbound.responses.responding
    inbound.new_stream()
    out = run(inbound, spoken_turn())
    started = [x for x in out if isinstance(x, n.ResponseStarted)]
    assert len(started) == 1
    done = [x for x in out if isinstance(x, n.ResponseDone)]
    assert [(x.response_id, x.status) for x in done] == [(started[0].response_id, "completed")]


def test_a_requests_own_modalities_do_not_outlive_it() -> None:
    # A text-only response asked for in an audio session: Nova's next answer of its own is
    # in the session's modalities again.
    inbound = Inbound(("audio",))
    requested(inbound, "r1", ("text",))
    out = run(inbound, spoken_turn("Typed.")[5:])
    assert n.TextDelta(response_id="r1", text="Typed.") in out
    out = run(inbound, spoken_turn("Spoken."))
    assert any(isinstance(x, n.AudioDelta) for x in out)
    assert [x.text for x in out if isinstance(x, n.TranscriptDelta)] == ["Spoken."]
