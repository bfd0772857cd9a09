"""A seeded corpus of bad client input: valid events of every type mutated field by field
(dropped, retyped, nulled, oversized, nested deep, unknown fields added), plus frames that
are not events at all. The same seed gives the same frames, so a failure can be replayed."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from typing import Any

SEEDS: dict[str, dict[str, Any]] = {
    "session.update": {"session": {"instructions": "Be brief.", "voice": "alloy",
                                   "modalities": ["text"], "turn_detection": None,
                                   "tools": [{"type": "function", "name": "f",
                                              "parameters": {"type": "object"}}]}},
    "input_audio_buffer.append": {"audio": base64.b64encode(b"\x00\x01" * 160).decode()},
    "input_audio_buffer.commit": {},
    "input_audio_buffer.clear": {},
    "conversation.item.create": {"item": {"type": "message", "role": "user",
                                          "content": [{"type": "input_text", "text": "hi"}]}},
    "conversation.item.retrieve": {"item_id": "item_x"},
    "conversation.item.delete": {"item_id": "item_x"},
    "conversation.item.truncate": {"item_id": "item_x", "content_index": 0, "audio_end_ms": 10},
    "response.create": {"response": {"modalities": ["text"], "instructions": "x",
                                     "max_output_tokens": 5, "metadata": {"k": "v"}}},
    "response.cancel": {},
    "output_audio_buffer.clear": {},
    "transcription_session.update": {"session": {}},
}  # fmt: skip


def _odd_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, 1e308, -0.0, 3.5])
    if kind == 3:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(0, 40)))
    if kind == 4:
        return "x" * rng.randrange(1000, 20000)
    if kind == 5:
        return [] if depth > 2 else [_odd_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 6:
        return {} if depth > 2 else {"k": _odd_value(rng, depth + 1)}
    if kind == 7:
        nest = rng.randrange(50, 3000)
        return json.loads("[" * min(nest, 900) + "]" * min(nest, 900))
    if kind == 8:
        return "\ud800"  # a lone surrogate, as some encoders let through
    if kind == 9:
        return rng.choice(["", " ", "root", "item_x", "resp_x", "event_x"])
    if kind == 10:
        return {"type": rng.choice(["message", "function_call", "bogus"])}
    return rng.choice(["text", "audio", "pcm16", "server_vad", "inf", "none", "auto"])


def _mutate(event: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    out = json.loads(json.dumps(event))
    for _ in range(rng.randrange(1, 4)):
        target = out
        path = [k for k in out if k != "type"]
        if path and rng.random() < 0.6:
            key = rng.choice(path)
            if isinstance(out[key], dict) and out[key] and rng.random() < 0.6:
                target, key = out[key], rng.choice(list(out[key]))
        else:
            key = rng.choice(["event_id", "bogus_field", "session", "item", "response"])
        action = rng.randrange(3)
        if action == 0 and key in target:
            del target[key]
        else:
            target[key] = _odd_value(rng)
    return out


def _raw(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(1, 80)))
    if kind == 1:
        return json.dumps(_odd_value(rng))
    if kind == 2:
        return "{" * rng.randrange(1, 5000)
    if kind == 3:
        return '{"type": "' + "a" * rng.randrange(1, 3000) + '"}'
    if kind == 4:
        return json.dumps({"type": rng.choice(list(SEEDS)) + rng.choice(["", "x", ".", " "])})
    return '{"type":"session.update","session":' + "[" * 6000 + "]" * 6000 + "}"


def frames(seed: int, count: int) -> Iterator[str]:
    rng = random.Random(seed)
    for _ in range(count):
        if rng.random() < 0.15:
            yield _raw(rng)
            continue
        event_type = rng.choice(list(SEEDS))
        event = {"type": event_type, **SEEDS[event_type]}
        text = json.dumps(_mutate(event, rng), ensure_ascii=rng.random() < 0.5)
        try:
            text.encode()
        except UnicodeEncodeError:
            # A text frame is UTF-8: a lone surrogate travels escaped, as JSON allows.
            text = json.dumps(json.loads(text))
        yield text
