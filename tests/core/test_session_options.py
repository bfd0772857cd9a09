"""Optional session settings (``Capabilities.session_options``): a provider that declares
them gets them in ``SessionConfig`` and the client sees them applied in
``session.updated``; for one that does not, they stay as before (accepted and not shown,
a custom voice refused). Audio priced per second is charged by the metered seconds."""

from __future__ import annotations

from typing import Any

from rtcore.dialect import Dialect
from rtcore.keys.pricing import cost, prices_for
from rtcore.keys.usage import Meter
from rtcore.provider import ALL_SESSION_OPTIONS, Capabilities, Prices
from rtcore.provider import messages as n

from .conftest import Harness, ScriptedProvider, text_reply


class OptionsProvider(ScriptedProvider):
    def __init__(self, options: frozenset[str]) -> None:
        super().__init__(text_reply)
        self._options = options

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            input_sample_rates=(24000,),
            voices=("alloy", "marin"),
            default_voice="alloy",
            session_options=self._options,
        )


UPDATE: dict[str, Any] = {
    "type": "session.update",
    "session": {
        "type": "realtime",
        "audio": {
            "input": {
                "transcription": {"model": "gpt-4o-transcribe", "language": "de", "prompt": "p"},
                "noise_reduction": {"type": "far_field"},
            },
            "output": {"voice": "marin", "speed": 1.2},
        },
        "reasoning": {"effort": "low"},
        "truncation": {"type": "retention_ratio", "retention_ratio": 0.5},
        "parallel_tool_calls": False,
        "prompt": {"id": "pmpt_1", "version": "3", "variables": {"city": "Oslo"}},
    },
}


async def _configure(options: frozenset[str]) -> tuple[n.SessionConfig, dict[str, Any]]:
    provider = OptionsProvider(options)
    async with Harness(provider, Dialect.GA) as client:
        await client.send(UPDATE)
        updated = await client.wait_for("session.updated")
    configs = [c.config for c in provider.commands if isinstance(c, n.Configure)]
    return configs[-1], updated["session"]


async def test_a_provider_that_declares_them_gets_them_and_the_client_sees_them() -> None:
    config, shown = await _configure(ALL_SESSION_OPTIONS)
    assert config.transcription == n.Transcription(
        model="gpt-4o-transcribe", language="de", prompt="p"
    )
    assert config.noise_reduction == "far_field"
    assert config.speed == 1.2
    assert config.reasoning_effort == "low"
    assert config.truncation == n.Truncation(type="retention_ratio", retention_ratio=0.5)
    assert config.parallel_tool_calls is False
    assert config.prompt == n.PromptRef(id="pmpt_1", version="3", variables={"city": "Oslo"})
    audio_in = shown["audio"]["input"]
    assert audio_in["transcription"] == {
        "model": "gpt-4o-transcribe",
        "language": "de",
        "prompt": "p",
    }
    assert audio_in["noise_reduction"] == {"type": "far_field"}
    assert shown["reasoning"] == {"effort": "low"}
    assert shown["truncation"] == {"type": "retention_ratio", "retention_ratio": 0.5}
    assert shown["prompt"] == {"id": "pmpt_1", "version": "3", "variables": {"city": "Oslo"}}


async def test_a_provider_that_does_not_keeps_todays_behaviour() -> None:
    config, shown = await _configure(frozenset())
    defaults = n.SessionConfig(model="x")
    for field in n.SESSION_OPTIONS:
        assert getattr(config, field) == getattr(defaults, field), field
    audio_in = shown["audio"]["input"]
    assert audio_in["transcription"] == {"model": "gpt-4o-transcribe"}
    assert audio_in["noise_reduction"] is None
    assert "reasoning" not in shown
    assert shown["truncation"] == "auto"
    assert shown["prompt"] is None


async def test_custom_voices_only_where_declared() -> None:
    update = {
        "type": "session.update",
        "session": {"type": "realtime", "audio": {"output": {"voice": {"id": "voice_abc"}}}},
    }
    provider = OptionsProvider(frozenset({"custom_voice"}))
    async with Harness(provider, Dialect.GA) as client:
        await client.send(update)
        updated = await client.wait_for("session.updated")
    assert updated["session"]["audio"]["output"]["voice"] == {"id": "voice_abc"}
    config = [c.config for c in provider.commands if isinstance(c, n.Configure)][-1]
    assert (config.voice, config.custom_voice) == ("voice_abc", True)

    provider = OptionsProvider(frozenset())
    async with Harness(provider, Dialect.GA) as client:
        await client.send(update)
        error = await client.wait_for("error")
    assert (error["error"]["code"], error["error"]["param"]) == (
        "unsupported_parameter",
        "session.audio.output.voice",
    )


async def test_a_declared_option_is_checked() -> None:
    provider = OptionsProvider(ALL_SESSION_OPTIONS)
    async with Harness(provider, Dialect.GA) as client:
        await client.send(
            {"type": "session.update", "session": {"type": "realtime", "truncation": "most"}}
        )
        error = await client.wait_for("error")
    assert (error["error"]["code"], error["error"]["param"]) == (
        "invalid_value",
        "session.truncation",
    )


def test_audio_priced_per_second_is_charged_by_the_metered_seconds() -> None:
    prices = Prices(input_audio_second=0.05 / 60)
    meter = Meter(prices)
    meter.input_rate = 24000
    meter.audio_in(24000 * 2 * 60)  # 60 s of audio sent to the provider at 24 kHz
    meter.input_rate = 16000  # a session.update moved the session to 16 kHz
    meter.audio_in(16000 * 2 * 30)  # and 30 s more
    assert abs(meter.spend - 0.075) < 1e-12
    assert cost(n.Usage(input_audio_tokens=100), prices) == 0.0
    overridden = prices_for(prices, {"input_cost_per_second": 0.001})
    assert overridden.input_audio_second == 0.001


def test_cached_input_is_charged_at_its_own_rate() -> None:
    m = 1e-6
    prices = Prices(
        input_text=4 * m,
        input_audio=32 * m,
        output_audio=64 * m,
        cached_input_text=0.4 * m,
        cached_input_audio=0.4 * m,
    )
    usage = n.Usage(
        input_text_tokens=1000,
        input_audio_tokens=2000,
        output_audio_tokens=500,
        cached_tokens=1500,  # 1000 of them audio, 500 text
        cached_audio_tokens=1000,
    )
    expected = (500 * 4 + 500 * 0.4 + 1000 * 32 + 1000 * 0.4 + 500 * 64) * m
    assert abs(cost(usage, prices) - expected) < 1e-15
    # Without a cached rate, cached tokens are input tokens like any other.
    plain = Prices(input_text=4 * m, input_audio=32 * m, output_audio=64 * m)
    assert abs(cost(usage, plain) - (1000 * 4 + 2000 * 32 + 500 * 64) * m) < 1e-15
    assert prices_for(plain, {"cache_read_input_token_cost": 1e-7}).cached_input_text == 1e-7
