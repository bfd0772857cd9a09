"""Neutral configuration and items -> Nova Sonic input events (no I/O).

One ``PromptWriter`` per Bedrock stream: it owns the prompt name and hands out a fresh
content name for every block (reusing a content name after it ended is rejected).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from rtcore.provider.messages import SessionConfig, ToolDef
from rtcore_bedrock_sonic import events as ev
from rtcore_bedrock_sonic.history import HistoryMessage, split_utf8
from rtcore_bedrock_sonic.models import ModelProfile, endpointing_sensitivity

DEFAULT_MAX_TOKENS = 1024
DEFAULT_TOP_P = 0.9
DEFAULT_TEMPERATURE = 0.7


def _tool(tool: ToolDef) -> ev.Tool:
    schema = tool.parameters or {"type": "object", "properties": {}}
    return ev.Tool(
        tool_spec=ev.ToolSpec(
            name=tool.name,
            description=tool.description or tool.name,
            input_schema=ev.InputSchema(json=json.dumps(schema)),
        )
    )


def tool_configuration(tools: Sequence[ToolDef], tool_choice: str) -> ev.ToolConfiguration | None:
    """Tools for ``promptStart``; ``tool_choice`` "none" withholds them entirely, which is
    the one way to make sure Nova calls nothing."""
    if not tools or tool_choice == "none":
        return None
    choice: dict[str, object] | None = None
    if tool_choice == "required":
        choice = {"any": {}}
    elif tool_choice not in ("auto", ""):
        name = tool_choice.removeprefix("function:")
        if any(t.name == name for t in tools):
            choice = {"tool": {"name": name}}
    return ev.ToolConfiguration(tools=tuple(_tool(t) for t in tools), tool_choice=choice)


class PromptWriter:
    def __init__(self, profile: ModelProfile, prompt_name: str | None = None) -> None:
        self.profile = profile
        self.prompt_name = prompt_name or str(uuid.uuid4())
        self.audio_content: str | None = None

    def _name(self) -> str:
        return str(uuid.uuid4())

    def opening(
        self,
        config: SessionConfig,
        *,
        voice: str,
        system_prompt: str,
        history: Sequence[HistoryMessage],
    ) -> list[bytes]:
        """sessionStart, promptStart, the SYSTEM block and the history, in Bedrock's order."""
        inference = ev.InferenceConfiguration(
            max_tokens=config.max_output_tokens or DEFAULT_MAX_TOKENS,
            top_p=config.top_p if config.top_p is not None else DEFAULT_TOP_P,
            temperature=(
                config.temperature if config.temperature is not None else DEFAULT_TEMPERATURE
            ),
        )
        turn = None
        if self.profile.turn_detection and config.turn_detection is not None:
            td = config.turn_detection
            sensitivity = endpointing_sensitivity(td.eagerness, td.silence_duration_ms)
            if sensitivity is not None:
                turn = ev.TurnDetectionConfiguration(endpointing_sensitivity=sensitivity)
        out = [
            ev.encode(
                ev.InputEvent(
                    session_start=ev.SessionStart(
                        inference_configuration=inference, turn_detection_configuration=turn
                    )
                )
            )
        ]
        tools = tool_configuration(config.tools, config.tool_choice)
        out.append(
            ev.encode(
                ev.InputEvent(
                    prompt_start=ev.PromptStart(
                        prompt_name=self.prompt_name,
                        text_output_configuration=ev.TEXT_PLAIN,
                        audio_output_configuration=ev.lpcm(config.output_sample_rate, voice),
                        tool_use_output_configuration=ev.APPLICATION_JSON if tools else None,
                        tool_configuration=tools,
                    )
                )
            )
        )
        # An empty SYSTEM block is noise at best; leave it out.
        if system_prompt.strip():
            out += self.text_block("SYSTEM", system_prompt, interactive=False)
        for message in history:
            out += self.text_block(message.role, message.text, interactive=False)
        return out

    def text_block(self, role: ev.InputRole, text: str, *, interactive: bool) -> list[bytes]:
        name = self._name()
        out = [
            ev.encode(
                ev.InputEvent(
                    content_start=ev.ContentStart(
                        prompt_name=self.prompt_name,
                        content_name=name,
                        type="TEXT",
                        interactive=interactive,
                        role=role,
                        text_input_configuration=ev.TEXT_PLAIN,
                    )
                )
            )
        ]
        for piece in split_utf8(text):
            out.append(
                ev.encode(
                    ev.InputEvent(
                        text_input=ev.TextInput(
                            prompt_name=self.prompt_name, content_name=name, content=piece
                        )
                    )
                )
            )
        out.append(self._content_end(name))
        return out

    def audio_start(self, rate: int) -> bytes:
        self.audio_content = self._name()
        return ev.encode(
            ev.InputEvent(
                content_start=ev.ContentStart(
                    prompt_name=self.prompt_name,
                    content_name=self.audio_content,
                    type="AUDIO",
                    interactive=True,
                    role="USER",
                    audio_input_configuration=ev.lpcm(rate),
                )
            )
        )

    def audio_chunk(self, pcm: bytes) -> bytes:
        assert self.audio_content is not None, "audio_start first"
        return ev.encode(
            ev.InputEvent(
                audio_input=ev.AudioInput(
                    prompt_name=self.prompt_name, content_name=self.audio_content, content=pcm
                )
            )
        )

    def tool_result(self, tool_use_id: str, content: str) -> list[bytes]:
        name = self._name()
        # Nova expects the result as a JSON document; plain text is wrapped so it is one.
        try:
            json.loads(content)
        except ValueError:
            content = json.dumps({"result": content})
        return [
            ev.encode(
                ev.InputEvent(
                    content_start=ev.ContentStart(
                        prompt_name=self.prompt_name,
                        content_name=name,
                        type="TOOL",
                        interactive=False,
                        role="TOOL",
                        tool_result_input_configuration=ev.ToolResultInputConfiguration(
                            tool_use_id=tool_use_id,
                            type="TEXT",
                            text_input_configuration=ev.TEXT_PLAIN,
                        ),
                    )
                )
            ),
            ev.encode(
                ev.InputEvent(
                    tool_result=ev.ToolResult(
                        prompt_name=self.prompt_name, content_name=name, content=content
                    )
                )
            ),
            self._content_end(name),
        ]

    def closing(self) -> list[bytes]:
        """The shutdown sequence Bedrock requires: audio contentEnd, promptEnd, sessionEnd."""
        out = []
        if self.audio_content is not None:
            out.append(self._content_end(self.audio_content))
            self.audio_content = None
        out.append(ev.encode(ev.InputEvent(prompt_end=ev.PromptEnd(prompt_name=self.prompt_name))))
        out.append(ev.encode(ev.InputEvent(session_end=ev.SessionEnd())))
        return out

    def _content_end(self, name: str) -> bytes:
        return ev.encode(
            ev.InputEvent(
                content_end=ev.ContentEnd(prompt_name=self.prompt_name, content_name=name)
            )
        )
