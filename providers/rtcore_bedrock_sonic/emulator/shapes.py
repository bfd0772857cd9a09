"""Checks Nova Sonic output events against the documented shapes and ordering rules.

Used by the emulator's own tests and usable by anyone recording a real Bedrock stream: feed each
decoded output event to :meth:`ShapeChecker.check`; it raises ``AssertionError`` on a mismatch.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

_STOPS = {
    "TEXT": {"PARTIAL_TURN", "END_TURN", "INTERRUPTED"},
    "AUDIO": {"PARTIAL_TURN", "END_TURN", "INTERRUPTED"},
    "TOOL": {"TOOL_USE"},
}
_ROLES = {"TEXT": {"USER", "ASSISTANT"}, "AUDIO": {"ASSISTANT"}, "TOOL": {"TOOL"}}


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    assert isinstance(value, str) and value, f"{key} must be a non-empty string: {body!r}"
    return value


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, (key, body)
    return value


@dataclass
class ShapeChecker:
    session_id: str | None = None
    open_completions: set[str] = field(default_factory=set)
    contents: dict[str, str] = field(default_factory=dict)  # contentId -> type
    last_total: int = 0

    def check(self, document: Any) -> tuple[str, dict[str, Any]]:
        assert isinstance(document, dict) and set(document) == {"event"}, document
        event = document["event"]
        assert isinstance(event, dict) and len(event) == 1, document
        name, body = next(iter(event.items()))
        assert isinstance(body, dict), document
        session_id = _str(body, "sessionId")
        if self.session_id is None:
            self.session_id = session_id
        assert session_id == self.session_id, "sessionId changed within a stream"
        _str(body, "promptName")
        completion = _str(body, "completionId")
        checker = getattr(self, f"_{name}", None)
        assert checker is not None, f"unknown output event {name}"
        if name != "completionStart":
            assert completion in self.open_completions or name == "usageEvent", (
                f"{name} outside an open completion"
            )
        checker(body, completion)
        return name, body

    def _completionStart(self, body: dict[str, Any], completion: str) -> None:
        assert completion not in self.open_completions
        self.open_completions.add(completion)

    def _completionEnd(self, body: dict[str, Any], completion: str) -> None:
        assert body.get("stopReason") in {"END_TURN", "INTERRUPTED"}, body
        assert not self.contents, f"completionEnd with open content {self.contents}"
        self.open_completions.discard(completion)

    def _contentStart(self, body: dict[str, Any], completion: str) -> None:
        content_id = _str(body, "contentId")
        kind = body.get("type")
        assert kind in _ROLES, body
        assert body.get("role") in _ROLES[kind], body
        assert content_id not in self.contents
        if kind == "TEXT":
            fields = json.loads(_str(body, "additionalModelFields"))
            assert fields.get("generationStage") in {"SPECULATIVE", "FINAL"}, body
            assert body["textOutputConfiguration"] == {"mediaType": "text/plain"}, body
        elif kind == "AUDIO":
            config = body["audioOutputConfiguration"]
            assert config["mediaType"] == "audio/lpcm", config
            assert config["sampleRateHertz"] in (8000, 16000, 24000), config
            assert config["sampleSizeBits"] == 16 and config["channelCount"] == 1, config
            assert config["encoding"] == "base64" and config["audioType"] == "SPEECH", config
        else:
            assert body["toolUseOutputConfiguration"] == {"mediaType": "application/json"}, body
        self.contents[content_id] = str(kind)

    def _content(self, body: dict[str, Any], kind: str) -> None:
        content_id = _str(body, "contentId")
        assert self.contents.get(content_id) == kind, f"{kind} event in {content_id}: {body}"

    def _textOutput(self, body: dict[str, Any], completion: str) -> None:
        self._content(body, "TEXT")
        assert isinstance(body.get("content"), str), body

    def _audioOutput(self, body: dict[str, Any], completion: str) -> None:
        self._content(body, "AUDIO")
        try:
            pcm = base64.b64decode(_str(body, "content"), validate=True)
        except binascii.Error as exc:
            raise AssertionError(f"audioOutput content is not base64: {exc}") from None
        assert len(pcm) % 2 == 0, "audio must be whole 16-bit samples"

    def _toolUse(self, body: dict[str, Any], completion: str) -> None:
        self._content(body, "TOOL")
        _str(body, "toolName")
        _str(body, "toolUseId")
        assert isinstance(json.loads(_str(body, "content")), dict), body

    def _contentEnd(self, body: dict[str, Any], completion: str) -> None:
        content_id = _str(body, "contentId")
        kind = self.contents.pop(content_id, None)
        assert kind is not None, f"contentEnd for unknown content {content_id}"
        assert body.get("type") == kind, body
        assert body.get("stopReason") in _STOPS[kind], body

    def _usageEvent(self, body: dict[str, Any], completion: str) -> None:
        details = body["details"]
        sums = {}
        for part in ("delta", "total"):
            total = 0
            for side in ("input", "output"):
                for key in ("speechTokens", "textTokens"):
                    total += _int(details[part][side], key)
            sums[part] = total
        tin, tout, tall = (
            _int(body, "totalInputTokens"),
            _int(body, "totalOutputTokens"),
            _int(body, "totalTokens"),
        )
        assert tall == tin + tout == sums["total"], body
        assert tall >= self.last_total, "token totals must be cumulative"
        self.last_total = tall
