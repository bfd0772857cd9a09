"""The two OpenAI Realtime dialects a connection can speak."""

from __future__ import annotations

from enum import StrEnum


class Dialect(StrEnum):
    """``beta``: the names the seed programs and LiteLLM users use (``response.text.delta``,
    flat session fields). ``ga``: the current API (``response.output_text.delta``,
    ``session.type``, nested ``audio`` config)."""

    BETA = "beta"
    GA = "ga"
