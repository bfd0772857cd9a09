"""What Nova's output content says beyond its text: the barge-in marker it sends as text,
a tool call's arguments (sometimes encoded twice), and a block's generation stage.
"""

from __future__ import annotations

import json


def is_interrupt_marker(text: str) -> bool:
    stripped = text.strip()
    if not stripped.startswith("{") or "interrupted" not in stripped:
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("interrupted") is True


def normalize_arguments(content: str) -> str:
    """Tool arguments as one JSON object string (Nova sometimes encodes them twice)."""
    value: object = content
    for _ in range(2):
        if not isinstance(value, str):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    if isinstance(value, dict):
        return json.dumps(value)
    if value == "" or value is None:
        return "{}"
    return json.dumps({"input": value})


def is_speculative(fields: str | None) -> bool:
    """The block is SPECULATIVE text (planned, before its audio) rather than FINAL."""
    if not fields:
        return False
    try:
        value = json.loads(fields)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("generationStage") == "SPECULATIVE"
