"""Scripting: which transcript a tone-coded utterance produces, and what the assistant answers.

Unscripted behaviour is fixed and documented, so tests can rely on it without a script.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Transcript of audio that is speech but not a code tone (e.g. a recorded WAV file).
UNRECOGNISED = "Hello, can you hear me?"

DEFAULT_UTTERANCES = {
    0: "Hello.",
    1: "What is the weather like in Paris?",
    2: "Tell me a story about a lighthouse keeper who finds a message in a bottle.",
    3: "Thank you, goodbye.",
    4: "What time is it in Tokyo?",
    5: "Stop.",
}


def default_reply(transcript: str) -> str:
    return f"You said: {transcript}"


def tool_reply(tool_name: str, result: str) -> str:
    quoted = result if len(result) <= 300 else result[:297] + "..."
    return f"The {tool_name} tool returned {quoted}"


def _key(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class Script:
    """Maps tone slots to user transcripts and user transcripts to assistant replies.

    ``utterances``: tone slot -> transcript (overrides ``DEFAULT_UTTERANCES``).
    ``replies``: transcript -> exact reply (matched case- and whitespace-insensitively); it
    applies to spoken and typed turns and takes precedence over tool matching.
    ``tool_replies``: tool name -> reply spoken after that tool's result ("{result}" is
    replaced by the result text).
    """

    utterances: dict[int, str] = field(default_factory=dict)
    replies: dict[str, str] = field(default_factory=dict)
    tool_replies: dict[str, str] = field(default_factory=dict)

    def say(self, slot: int, transcript: str, reply: str | None = None) -> Script:
        self.utterances[slot] = transcript
        if reply is not None:
            self.reply(transcript, reply)
        return self

    def reply(self, transcript: str, reply: str) -> Script:
        self.replies[_key(transcript)] = reply
        return self

    def transcript(self, slot: int | None) -> str:
        if slot is None:
            return UNRECOGNISED
        return self.utterances.get(slot) or DEFAULT_UTTERANCES.get(slot, f"Utterance {slot}.")

    def scripted_reply(self, transcript: str) -> str | None:
        return self.replies.get(_key(transcript))

    def after_tool(self, tool_name: str, result: str) -> str:
        template = self.tool_replies.get(tool_name)
        if template is None:
            return tool_reply(tool_name, result)
        return template.replace("{result}", result)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Script:
        script = cls(tool_replies=dict(data.get("tool_replies", {})))
        for slot, transcript in data.get("utterances", {}).items():
            script.utterances[int(slot)] = str(transcript)
        for transcript, reply in data.get("replies", {}).items():
            script.reply(str(transcript), str(reply))
        return script

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Script:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
