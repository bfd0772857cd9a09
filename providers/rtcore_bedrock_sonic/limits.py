"""What Bedrock refuses in a Nova Sonic stream's opening, checked before it is sent.

A refused opening (a ``ValidationException``) costs the session its stream; refused here,
the client gets an ``invalid_value`` error naming the parameter and the session keeps its
settings. The rules are Bedrock's: ``inferenceConfiguration`` temperature and topP in
0..1, maxTokens 1..10000, tool names ``[a-zA-Z0-9_-]{1,64}`` and unique (the toolSpec name
rule of Bedrock's API), as the emulator also enforces (docs/emulator.md).
"""

from __future__ import annotations

import re

from rtcore.provider import SettingRefused
from rtcore.provider.messages import SessionConfig

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_TOKENS = 10000


def check_config(config: SessionConfig) -> None:
    if config.temperature is not None and not 0.0 <= config.temperature <= 1.0:
        raise SettingRefused(
            "temperature",
            f"Invalid value: {config.temperature}. Nova Sonic takes a temperature from 0 to 1.",
        )
    if config.top_p is not None and not 0.0 <= config.top_p <= 1.0:
        raise SettingRefused("top_p", f"Invalid value: {config.top_p}. top_p is from 0 to 1.")
    if config.max_output_tokens is not None and not 1 <= config.max_output_tokens <= MAX_TOKENS:
        raise SettingRefused(
            "max_output_tokens",
            f"Invalid value: {config.max_output_tokens}. Nova Sonic takes 1 to {MAX_TOKENS}.",
        )
    seen: set[str] = set()
    for index, tool in enumerate(config.tools):
        if not TOOL_NAME.match(tool.name):
            raise SettingRefused(
                f"tools[{index}].name",
                f"Invalid tool name {tool.name!r}: Nova Sonic takes 1 to 64 letters, digits, "
                "'_' or '-'.",
            )
        if tool.name in seen:
            raise SettingRefused(f"tools[{index}].name", f"Duplicate tool name {tool.name!r}.")
        seen.add(tool.name)
