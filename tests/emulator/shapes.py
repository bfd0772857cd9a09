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


def _expect(condition: object, detail: object) -> None:
    # Not ``assert``: the checks must hold under ``python -O`` too.
    if not condition:
        raise AssertionError(detail)


def _str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise AssertionError(f"{key} must be a non-empty string: {body!r}")
    return value


def _int(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise AssertionError(f"{key} must be a non-negative integer: {body!r}")
    return value


@dataclass
class ShapeChecker:
    session_id: str | None = None
    open_completions: set[str] = field(default_factory=set)
    contents: dict[str, str] = field(default_factory=dict)  # contentId -> type
    last_total: int = 0

    def check(self, document: Any) -> tuple[str, dict[str, Any]]:
        _expect(isinstance(document, dict) and set(document) == {"event"}, document)
        event = document["event"]
        _expect(isinstance(event, dict) and len(event) == 1, document)
        name, body = next(iter(event.items()))
        _expect(isinstance(body, dict), document)
        session_id = _str(body, "sessionId")
        if self.session_id is None:
            self.session_id = session_id
        _expect(session_id == self.session_id, "sessionId changed within a stream")
        _str(body, "promptName")
        if name in ("userSpeechStart", "userSpeechEnd"):
            # Nova 2's speech signals belong to no completion.
            _expect(isinstance(body.get("inputAudioOffsetMs"), int), f"{name}: offset")
            return name, body
        completion = _str(body, "completionId")
        checker = getattr(self, f"_{name}", None)
        if checker is None:
            raise AssertionError(f"unknown output event {name}")
        if name != "completionStart":
            _expect(
                completion in self.open_completions or name == "usageEvent",
                (f"{name} outside an open completion"),
            )
        checker(body, completion)
        return name, body

    def _completionStart(self, body: dict[str, Any], completion: str) -> None:
        _expect(completion not in self.open_completions, "completionStart repeated")
        self.open_completions.add(completion)

    def _completionEnd(self, body: dict[str, Any], completion: str) -> None:
        _expect(body.get("stopReason") in {"END_TURN", "INTERRUPTED"}, body)
        _expect(not self.contents, f"completionEnd with open content {self.contents}")
        self.open_completions.discard(completion)

    def _contentStart(self, body: dict[str, Any], completion: str) -> None:
        content_id = _str(body, "contentId")
        kind = str(body.get("type"))
        _expect(kind in _ROLES, body)
        _expect(body.get("role") in _ROLES[kind], body)
        _expect(content_id not in self.contents, f"contentStart repeated for {content_id}")
        if kind == "TEXT":
            fields = json.loads(_str(body, "additionalModelFields"))
            _expect(fields.get("generationStage") in {"SPECULATIVE", "FINAL"}, body)
            _expect(body["textOutputConfiguration"] == {"mediaType": "text/plain"}, body)
        elif kind == "AUDIO":
            config = body["audioOutputConfiguration"]
            _expect(config["mediaType"] == "audio/lpcm", config)
            _expect(config["sampleRateHertz"] in (8000, 16000, 24000), config)
            _expect(config["sampleSizeBits"] == 16 and config["channelCount"] == 1, config)
            _expect(config["encoding"] == "base64" and config["audioType"] == "SPEECH", config)
        else:
            _expect(body["toolUseOutputConfiguration"] == {"mediaType": "application/json"}, body)
        self.contents[content_id] = str(kind)

    def _content(self, body: dict[str, Any], kind: str) -> None:
        content_id = _str(body, "contentId")
        _expect(self.contents.get(content_id) == kind, f"{kind} event in {content_id}: {body}")

    def _textOutput(self, body: dict[str, Any], completion: str) -> None:
        self._content(body, "TEXT")
        _expect(isinstance(body.get("content"), str), body)

    def _audioOutput(self, body: dict[str, Any], completion: str) -> None:
        self._content(body, "AUDIO")
        try:
            pcm = base64.b64decode(_str(body, "content"), validate=True)
        except binascii.Error as exc:
            raise AssertionError(f"audioOutput content is not base64: {exc}") from None
        _expect(len(pcm) % 2 == 0, "audio must be whole 16-bit samples")

    def _toolUse(self, body: dict[str, Any], completion: str) -> None:
        self._content(body, "TOOL")
        _str(body, "toolName")
        _str(body, "toolUseId")
        _expect(isinstance(json.loads(_str(body, "content")), dict), body)

    def _contentEnd(self, body: dict[str, Any], completion: str) -> None:
        content_id = _str(body, "contentId")
        kind = self.contents.pop(content_id, None)
        if kind is None:
            raise AssertionError(f"contentEnd for unknown content {content_id}")
        _expect(body.get("type") == kind, body)
        _expect(body.get("stopReason") in _STOPS[kind], body)

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
        _expect(tall == tin + tout == sums["total"], body)
        _expect(tall >= self.last_total, "token totals must be cumulative")
        self.last_total = tall
