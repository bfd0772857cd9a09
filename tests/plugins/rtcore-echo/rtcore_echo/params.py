"""Options for the echo model, from ``litellm_params`` in a config file (``ModelConfig.params``)."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class EchoParams(msgspec.Struct, frozen=True, kw_only=True):
    """Unknown keys are ignored, so a config written for another provider still loads.

    ``chunk_delay_ms``: pause between streamed chunks; big enough that a test can cancel a
    response or barge in while it streams, small enough that tests stay fast.
    ``vad_threshold``: RMS (on the int16 scale) above which a 20 ms frame counts as speech.
    ``ms_per_char``: length of the reply tone per character of reply text.
    ``unavailable``: when set, ``open_session`` refuses with this message (to test how the
    core reports an unreachable upstream).
    ``open_delay_ms``: how long ``open_session`` takes (an upstream slow to connect).
    """

    chunk_delay_ms: float = 5.0
    vad_threshold: float = 500.0
    ms_per_char: int = 60
    unavailable: str | None = None
    open_delay_ms: float = 0.0

    @classmethod
    def parse(cls, params: Mapping[str, object]) -> EchoParams:
        try:
            parsed = msgspec.convert(dict(params), cls)
        except msgspec.ValidationError as exc:
            raise ValueError(f"invalid echo model parameter: {exc}") from None
        lows = (parsed.chunk_delay_ms, parsed.open_delay_ms, parsed.vad_threshold)
        if min(lows) < 0 or parsed.ms_per_char < 1:
            raise ValueError(
                "invalid echo model parameter: chunk_delay_ms, open_delay_ms and vad_threshold "
                "must be >= 0, ms_per_char >= 1"
            )
        return parsed
