"""Capabilities are enforced by the core: what a provider cannot do is refused, naming the
parameter, before the provider hears of it; voices are validated once, by its own rule."""

from __future__ import annotations

from typing import Any

import pytest

from rtcore.dialect import Dialect
from rtcore.provider import ALL_RESPONSE_OVERRIDES, Capabilities
from rtcore.provider import messages as n

from .conftest import Harness, ScriptedProvider


class LimitedProvider(ScriptedProvider):
    def __init__(self, caps: Capabilities) -> None:
        super().__init__(lambda _c: [])
        self._caps = caps

    @property
    def capabilities(self) -> Capabilities:
        return self._caps


def normalize(voice: str) -> str:
    if voice.lower() not in ("matthew", "tiffany"):
        raise ValueError(f"Voice {voice!r} is not one of this model's: matthew, tiffany.")
    return voice.lower()


async def first_error(caps: Capabilities, *events: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    provider = LimitedProvider(caps)
    async with Harness(provider, Dialect.BETA) as client:
        for event in events:
            await client.send(event)
        error = await client.wait_for("error")
    return error["error"], provider


@pytest.mark.parametrize(
    ("caps", "session", "param"),
    [
        (
            Capabilities(server_vad=False),
            {"turn_detection": {"type": "server_vad"}},
            "session.turn_detection",
        ),
        (Capabilities(manual_commit=False), {"turn_detection": None}, "session.turn_detection"),
        (
            Capabilities(tools=False),
            {"tools": [{"type": "function", "name": "f"}]},
            "session.tools",
        ),
    ],
)
async def test_what_the_provider_cannot_do_is_refused(
    caps: Capabilities, session: dict[str, Any], param: str
) -> None:
    error, provider = await first_error(caps, {"type": "session.update", "session": session})
    assert (error["code"], error["param"]) == ("unsupported_parameter", param)
    # The update was refused whole: the provider never heard of it.
    field = param.split(".")[-1]
    assert not [c for c in provider.commands if isinstance(c, n.Configure) and field in c.changed]


async def test_a_per_response_override_it_does_not_declare_is_refused() -> None:
    caps = Capabilities(
        voices=("matthew", "tiffany"), response_overrides=frozenset({"instructions"})
    )
    error, provider = await first_error(
        caps, {"type": "response.create", "response": {"max_output_tokens": 10}}
    )
    assert (error["code"], error["param"]) == (
        "unsupported_parameter",
        "response.max_output_tokens",
    )
    assert not [c for c in provider.commands if isinstance(c, n.CreateResponse)]


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("reasoning", {"effort": "high"}, "response.reasoning"),
        ("parallel_tool_calls", False, "response.parallel_tool_calls"),
        ("prompt", {"id": "pmpt_1"}, "response.prompt"),
    ],
)
async def test_per_response_model_options_are_refused_where_not_declared_and_carried_where_they_are(
    field: str, value: object, param: str
) -> None:
    """Never accepted and dropped: a provider that cannot vary them for one response has
    them refused with the field named; one that can gets them with the response."""
    caps = Capabilities(voices=("matthew",), response_overrides=frozenset({"instructions"}))
    create = {"type": "response.create", "response": {field: value}}
    error, provider = await first_error(caps, create)
    assert (error["code"], error["param"]) == ("unsupported_parameter", param)
    assert not [c for c in provider.commands if isinstance(c, n.CreateResponse)]

    declared = LimitedProvider(
        Capabilities(voices=("matthew",), response_overrides=ALL_RESPONSE_OVERRIDES)
    )
    async with Harness(declared, Dialect.GA) as client:
        await client.send(create)
        await client.wait_for("response.created")
    [sent] = [c for c in declared.commands if isinstance(c, n.CreateResponse)]
    carried = {
        "reasoning": sent.options.reasoning_effort,
        "parallel_tool_calls": sent.options.parallel_tool_calls,
        "prompt": sent.options.prompt and sent.options.prompt.id,
    }[field]
    assert carried == {"reasoning": "high", "parallel_tool_calls": False, "prompt": "pmpt_1"}[field]


async def test_a_per_response_value_equal_in_effect_to_the_sessions_is_no_override() -> None:
    """What the client was shown of the session (temperature 0.8 when unset, its voice,
    its tool choice, no token limit) and an empty tools list ask for nothing different."""
    caps = Capabilities(
        voices=("matthew", "tiffany"),
        default_voice="matthew",
        response_overrides=frozenset({"instructions"}),
    )
    provider = LimitedProvider(caps)
    same = {
        "temperature": 0.8,
        "voice": "matthew",
        "tool_choice": "auto",
        "max_response_output_tokens": "inf",
        "tools": [],
    }
    async with Harness(provider, Dialect.BETA) as client:
        await client.send({"type": "session.update", "session": {"voice": "matthew"}})
        await client.send({"type": "response.create", "response": same})
        await client.wait_for("response.created")
    assert not [e for e in client.events if e["type"] == "error"]
    created = [c for c in provider.commands if isinstance(c, n.CreateResponse)]
    assert len(created) == 1
    assert created[0].options.tools is None  # the session's tools, not none at all


async def test_voice_is_validated_once_with_the_providers_own_rule() -> None:
    caps = Capabilities(
        voices=("matthew", "tiffany"), default_voice="matthew", normalize_voice=normalize
    )
    provider = LimitedProvider(caps)
    async with Harness(provider, Dialect.BETA) as client:
        await client.send({"type": "session.update", "session": {"voice": "Tiffany"}})
        updated = await client.wait_for("session.updated")
        await client.send({"type": "session.update", "session": {"voice": "joanna"}})
        error = (await client.wait_for("error"))["error"]
        await client.send({"type": "session.update", "session": {"voice": "alloy"}})
        alloy = await client.wait_for("session.updated", 2)
    assert updated["session"]["voice"] == "tiffany"  # the provider's spelling, reported
    assert error["message"] == "Voice 'joanna' is not one of this model's: matthew, tiffany."
    assert error["param"] == "session.voice"
    assert alloy["session"]["voice"] == "matthew"  # an OpenAI voice stands for the default


@pytest.mark.parametrize(
    ("turn_detection", "param"),
    [
        (
            {"type": "server_vad", "create_response": False},
            "session.turn_detection.create_response",
        ),
        (
            {"type": "server_vad", "interrupt_response": False},
            "session.turn_detection.interrupt_response",
        ),
        # The idle timeout is the core's, for any provider, but a server_vad setting only.
        (
            {"type": "semantic_vad", "idle_timeout_ms": 5000},
            "session.turn_detection.idle_timeout_ms",
        ),
    ],
)
async def test_turn_detection_behaviour_the_provider_cannot_vary_is_refused(
    turn_detection: dict[str, Any], param: str
) -> None:
    caps = Capabilities(turn_options=frozenset())
    error, _ = await first_error(
        caps, {"type": "session.update", "session": {"turn_detection": turn_detection}}
    )
    assert (error["code"], error["param"]) == ("unsupported_parameter", param)


async def test_turn_detection_behaviour_the_provider_declares_is_taken() -> None:
    provider = LimitedProvider(Capabilities())  # create_response, interrupt_response
    async with Harness(provider, Dialect.BETA) as client:
        td = {"type": "server_vad", "create_response": False, "interrupt_response": False}
        await client.send({"type": "session.update", "session": {"turn_detection": td}})
        updated = await client.wait_for("session.updated")
    assert updated["session"]["turn_detection"]["create_response"] is False
    configured = [c for c in provider.commands if isinstance(c, n.Configure)][-1]
    assert configured.config.turn_detection is not None
    assert configured.config.turn_detection.interrupt_response is False


@pytest.mark.parametrize(
    ("caps", "event", "code", "param", "command"),
    [
        (
            Capabilities(out_of_band=False),
            {"type": "response.create", "response": {"conversation": "none"}},
            "unsupported_parameter",
            "response.conversation",
            n.CreateResponse,
        ),
        (
            Capabilities(cancel=False),
            {"type": "response.cancel"},
            "unsupported_event",
            "type",
            n.CancelResponse,
        ),
        (
            Capabilities(truncate=False),
            {
                "type": "conversation.item.truncate",
                "item_id": "item_a",
                "content_index": 0,
                "audio_end_ms": 100,
            },
            "unsupported_event",
            "type",
            n.TruncateItem,
        ),
    ],
)
async def test_what_the_provider_cannot_promise_of_a_response_is_refused_and_the_session_goes_on(
    caps: Capabilities, event: dict[str, Any], code: str, param: str, command: type[Any]
) -> None:
    """Out of band, cancel and truncate are refused when undeclared (rather than faked by
    the provider), naming what was refused; the session takes the next request."""
    provider = LimitedProvider(caps)
    async with Harness(provider, Dialect.GA) as client:
        # A response in flight, so a cancel would have something to stop.
        await client.send({"type": "response.create"})
        await client.wait_for("response.created")
        await client.send(event)
        error = (await client.wait_for("error"))["error"]
        await client.send({"type": "input_audio_buffer.clear"})
        await client.wait_for("input_audio_buffer.cleared")
    assert (error["code"], error["param"]) == (code, param)
    assert error["type"] == "invalid_request_error"
    # The provider heard nothing of it (the one CreateResponse is the first request's).
    assert len([c for c in provider.commands if isinstance(c, command)]) == int(
        command is n.CreateResponse
    )
    assert not [e for e in client.events if e["type"] == "response.done"]  # still in flight


async def test_what_the_provider_declares_of_a_response_is_passed_on() -> None:
    provider = LimitedProvider(Capabilities())  # out of band, cancel, truncate: all True
    async with Harness(provider, Dialect.GA) as client:
        await client.send({"type": "response.create", "response": {"conversation": "none"}})
        await client.wait_for("response.created")
        await client.send({"type": "response.cancel"})
        await client.wait_for("response.done")
    assert not [e for e in client.events if e["type"] == "error"]
    assert [c.conversation for c in provider.commands if isinstance(c, n.CreateResponse)] == [False]
    assert [c for c in provider.commands if isinstance(c, n.CancelResponse)]
