"""What Bedrock validates in a Nova Sonic input stream, as a state machine that does no I/O.

``Validator.check(document)`` returns the event name and body of a well-formed, well-ordered
event, or raises :class:`BedrockError` with Bedrock's exception name and a message.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import CHAT_HISTORY, validation
from .wire import AudioInput

V1 = "amazon.nova-sonic-v1:0"
V2 = "amazon.nova-2-sonic-v1:0"
# Nova 2.5 Sonic: its id as AWS spells it (no version suffix). It is served with Nova 2's
# behaviour throughout; docs/emulator.md says which of that is sourced for 2.5.
V2_5 = "amazon.nova-2-5-sonic"

_V1_VOICES = (
    "tiffany", "matthew", "amy", "ambre", "florian", "beatrice", "lorenzo",
    "greta", "lennart", "lupe", "carlos",
)  # fmt: skip
_V2_VOICES = (
    "tiffany", "matthew", "amy", "olivia", "kiara", "arjun", "ambre", "florian",
    "beatrice", "lorenzo", "tina", "lennart", "lupe", "carlos", "carolina", "leo",
)  # fmt: skip

# Models AWS no longer serves, and since when (the model card: Nova Sonic v1 is Legacy,
# end of life 2026-09-14). See docs/emulator.md for what Bedrock does with them.
RETIRED = {V1: "2026-09-14"}

_PLAIN = "text/plain"
SAMPLE_RATES = (8000, 16000, 24000)
SENSITIVITIES = ("HIGH", "MEDIUM", "LOW")
_ROLES = {
    "TEXT": ("SYSTEM", "USER", "ASSISTANT", "SYSTEM_SPEECH"),
    "AUDIO": ("USER",),
    "TOOL": ("TOOL",),
}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
# Inference profiles prefix the model id with a geography, e.g. "us." or "eu.".
_PROFILE = re.compile(r"^(?:[a-z]{2,4}\.)?(amazon\.nova(?:-2)?-sonic-v1:0|amazon\.nova-2-5-sonic)$")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    model_id: str
    base_id: str
    voices: tuple[str, ...]

    @property
    def nova2(self) -> bool:
        """Nova 2's protocol: interactive text, turn detection, speech signals (2.5 too)."""
        return self.base_id in (V2, V2_5)

    def _replace_id(self, model_id: str) -> ModelInfo:
        return ModelInfo(model_id, self.base_id, self.voices)


def resolve_model(model_id: str, aliases: dict[str, str] | None = None) -> ModelInfo:
    """The model an id names; ``aliases`` maps further ids (a newer generation, an
    application inference profile's ARN) to the model they behave like."""
    if aliases and model_id in aliases:
        return resolve_model(aliases[model_id])._replace_id(model_id)
    match = _PROFILE.match(model_id)
    if match is None:
        raise validation(
            f"The provided model identifier is invalid: {model_id}. "
            f"Supported models: {V1}, {V2}, {V2_5} (optionally with an inference profile "
            "prefix)."
        )
    base = match.group(1)
    return ModelInfo(model_id, base, _V1_VOICES if base == V1 else _V2_VOICES)


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    schema: dict[str, Any]


@dataclass(slots=True)
class Content:
    name: str
    type: str
    role: str
    interactive: bool
    sample_rate: int = 0
    tool_use_id: str = ""


@dataclass(slots=True)
class Validator:
    model: ModelInfo
    session_started: bool = False
    session_ended: bool = False
    prompt: str | None = None
    voice: str = ""
    output_rate: int = 24000
    tools: list[Tool] = field(default_factory=list)
    sensitivity: str | None = None
    contents: dict[str, Content] = field(default_factory=dict)
    pending_tool_uses: set[str] = field(default_factory=set)

    def check(self, document: Any) -> tuple[str, dict[str, Any], Content | None]:
        if isinstance(document, AudioInput):
            # The wire's typed fast path: same checks, same order, content already decoded.
            return "audioInput", *self.check_audio(document)
        if not isinstance(document, dict) or not isinstance(document.get("event"), dict):
            raise validation('Each input chunk must be a JSON object of the form {"event": {...}}.')
        event = document["event"]
        if len(event) != 1:
            raise validation("Each input chunk must contain exactly one event.")
        name, body = next(iter(event.items()))
        if not isinstance(body, dict):
            raise validation(f"Event {name} must be a JSON object.")
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            raise validation(f"Unknown event type: {name}.")
        if self.session_ended:
            raise validation(f"Received {name} after sessionEnd.")
        if name != "sessionStart" and not self.session_started:
            raise validation("The first event must be sessionStart.")
        content: Content | None = handler(body)
        return name, body, content

    def check_audio(self, audio: AudioInput) -> tuple[dict[str, Any], Content | None]:
        if self.session_ended:
            raise validation("Received audioInput after sessionEnd.")
        if not self.session_started:
            raise validation("The first event must be sessionStart.")
        body = {
            "promptName": audio.promptName,
            "contentName": audio.contentName,
            "content": audio.content,
        }
        return body, self._on_audioInput(body)

    def _on_sessionStart(self, body: dict[str, Any]) -> Content | None:
        if self.session_started:
            raise validation("sessionStart was already received for this stream.")
        if "endpointingSensitivity" in body:
            raise validation(
                "Unknown field endpointingSensitivity in sessionStart; use "
                "turnDetectionConfiguration.endpointingSensitivity."
            )
        inference = body.get("inferenceConfiguration", {})
        if not isinstance(inference, dict):
            raise validation("inferenceConfiguration must be an object.")
        _number(inference, "maxTokens", 1, 10000, integer=True)
        _number(inference, "topP", 0.0, 1.0)
        _number(inference, "temperature", 0.0, 1.0)
        detection = body.get("turnDetectionConfiguration")
        if detection is not None:
            if not self.model.nova2:
                raise validation(
                    f"turnDetectionConfiguration is not supported by model {self.model.model_id}."
                )
            value = detection.get("endpointingSensitivity") if isinstance(detection, dict) else None
            if value not in SENSITIVITIES:
                raise validation(
                    f"Invalid endpointingSensitivity {value!r}; expected one of HIGH, MEDIUM, LOW."
                )
            self.sensitivity = str(value)
        self.session_started = True
        return None

    def _on_promptStart(self, body: dict[str, Any]) -> Content | None:
        if self.prompt is not None:
            raise validation(f"Prompt {self.prompt} is still open; send promptEnd first.")
        name = _required_str(body, "promptName", "promptStart")
        audio = body.get("audioOutputConfiguration")
        if not isinstance(audio, dict):
            raise validation("promptStart requires audioOutputConfiguration.")
        self.output_rate = _audio_config(audio, "audioOutputConfiguration")
        voice = audio.get("voiceId")
        if voice not in self.model.voices:
            raise validation(
                f"Invalid voiceId {voice!r} for model {self.model.base_id}. "
                f"Valid voices: {', '.join(self.model.voices)}."
            )
        text = body.get("textOutputConfiguration")
        if text is not None and (
            not isinstance(text, dict) or text.get("mediaType") != "text/plain"
        ):
            raise validation("textOutputConfiguration.mediaType must be text/plain.")
        self.tools = _tools(body.get("toolConfiguration"))
        self.voice = str(voice)
        self.prompt = name
        return None

    def _on_contentStart(self, body: dict[str, Any]) -> Content | None:
        self._prompt_of(body)
        name = _required_str(body, "contentName", "contentStart")
        if name in self.contents:
            raise validation(f"Content {name} is already open.")
        kind = body.get("type")
        if kind not in _ROLES:
            raise validation(f"Invalid content type {kind!r}; expected TEXT, AUDIO or TOOL.")
        role = body.get("role")
        if role not in _ROLES[kind]:
            raise validation(f"Invalid role {role!r} for {kind} content.")
        if role == "SYSTEM_SPEECH" and not self.model.nova2:
            raise validation(f"Role SYSTEM_SPEECH is not supported by model {self.model.model_id}.")
        interactive = body.get("interactive", False)
        if not isinstance(interactive, bool):
            raise validation("interactive must be a boolean.")
        content = Content(name, kind, role, interactive)
        if kind == "AUDIO":
            if any(c.type == "AUDIO" for c in self.contents.values()):
                raise validation("Only one audio content can be open at a time.")
            config = body.get("audioInputConfiguration")
            if not isinstance(config, dict):
                raise validation("AUDIO content requires audioInputConfiguration.")
            content.sample_rate = _audio_config(config, "audioInputConfiguration")
        elif kind == "TEXT":
            config = body.get("textInputConfiguration")
            if not isinstance(config, dict) or config.get("mediaType") != _PLAIN:
                raise validation(
                    "TEXT content requires textInputConfiguration.mediaType text/plain."
                )
        else:
            config = body.get("toolResultInputConfiguration")
            if not isinstance(config, dict):
                raise validation("TOOL content requires toolResultInputConfiguration.")
            tool_use_id = config.get("toolUseId")
            if tool_use_id not in self.pending_tool_uses:
                raise validation(
                    f"Unknown toolUseId {tool_use_id!r} in toolResultInputConfiguration."
                )
            content.tool_use_id = str(tool_use_id)
        self.contents[name] = content
        return content

    def _on_textInput(self, body: dict[str, Any]) -> Content | None:
        content = self._content_of(body, "TEXT", "textInput")
        if not isinstance(body.get("content"), str):
            raise validation("textInput.content must be a string.")
        return content

    def _on_audioInput(self, body: dict[str, Any]) -> Content | None:
        self._prompt_of(body)
        if any(c.type == "TEXT" for c in self.contents.values()):
            raise validation(CHAT_HISTORY)
        content = self._content_of(body, "AUDIO", "audioInput")
        # bytes: the PCM of a typed event (wire.AudioInput) the wire already base64-decoded.
        if not isinstance(body.get("content"), str | bytes):
            raise validation("audioInput.content must be a base64 string.")
        return content

    def _on_toolResult(self, body: dict[str, Any]) -> Content | None:
        content = self._content_of(body, "TOOL", "toolResult")
        if not isinstance(body.get("content"), str):
            raise validation("toolResult.content must be a string.")
        return content

    def _on_contentEnd(self, body: dict[str, Any]) -> Content | None:
        self._prompt_of(body)
        name = _required_str(body, "contentName", "contentEnd")
        content = self.contents.pop(name, None)
        if content is None:
            raise validation(f"Unknown contentName {name}: it was never started or already ended.")
        if content.type == "TOOL":
            self.pending_tool_uses.discard(content.tool_use_id)
        return content

    def _on_promptEnd(self, body: dict[str, Any]) -> Content | None:
        self._prompt_of(body)
        if self.contents:
            raise validation(f"Content {next(iter(self.contents))} must be ended before promptEnd.")
        self.prompt = None
        return None

    def _on_sessionEnd(self, body: dict[str, Any]) -> Content | None:
        if self.prompt is not None:
            raise validation(f"Prompt {self.prompt} must be ended before sessionEnd.")
        self.session_ended = True
        return None

    def _prompt_of(self, body: dict[str, Any]) -> str:
        name = body.get("promptName")
        if self.prompt is None:
            raise validation("No prompt is open; send promptStart first.")
        if name != self.prompt:
            raise validation(f"Unknown promptName {name!r}.")
        return self.prompt

    def _content_of(self, body: dict[str, Any], kind: str, event: str) -> Content:
        self._prompt_of(body)
        name = body.get("contentName")
        content = self.contents.get(name) if isinstance(name, str) else None
        if content is None:
            raise validation(f"Unknown contentName {name!r} in {event}.")
        if content.type != kind:
            raise validation(f"{event} is not allowed in {content.type} content {name}.")
        return content


def _required_str(body: dict[str, Any], key: str, event: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise validation(f"{event} requires a non-empty {key}.")
    return value


def _number(
    body: dict[str, Any], key: str, low: float, high: float, *, integer: bool = False
) -> None:
    if key not in body:
        return
    value = body[key]
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not low <= value <= high:
        raise validation(f"inferenceConfiguration.{key} must be between {low} and {high}.")


def _audio_config(config: dict[str, Any], where: str) -> int:
    if config.get("mediaType") != "audio/lpcm":
        raise validation(f"{where}.mediaType must be audio/lpcm.")
    rate = config.get("sampleRateHertz")
    if rate not in SAMPLE_RATES:
        raise validation(f"{where}.sampleRateHertz must be 8000, 16000 or 24000; got {rate!r}.")
    if config.get("sampleSizeBits", 16) != 16:
        raise validation(f"{where}.sampleSizeBits must be 16.")
    if config.get("channelCount", 1) != 1:
        raise validation(f"{where}.channelCount must be 1.")
    if config.get("encoding", "base64") != "base64":
        raise validation(f"{where}.encoding must be base64.")
    return int(rate)


def _tools(config: Any) -> list[Tool]:
    if config is None:
        return []
    tools = config.get("tools") if isinstance(config, dict) else None
    if not isinstance(tools, list):
        raise validation("toolConfiguration.tools must be a list.")
    result: list[Tool] = []
    for entry in tools:
        spec = entry.get("toolSpec") if isinstance(entry, dict) else None
        if not isinstance(spec, dict):
            raise validation("Each tool must be an object with a toolSpec.")
        name = spec.get("name")
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise validation(f"Invalid tool name {name!r}.")
        schema_text = (spec.get("inputSchema") or {}).get("json")
        if not isinstance(schema_text, str):
            raise validation(f"Tool {name}: inputSchema.json must be a JSON schema as a string.")
        try:
            schema = json.loads(schema_text)
        except ValueError:
            raise validation(f"Tool {name}: inputSchema.json is not valid JSON.") from None
        if not isinstance(schema, dict):
            raise validation(f"Tool {name}: inputSchema.json must be a JSON object schema.")
        if any(t.name == name for t in result):
            raise validation(f"Duplicate tool name {name}.")
        result.append(Tool(name, str(spec.get("description") or ""), schema))
    return result
