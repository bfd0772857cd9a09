"""The response object, and the options a ``response.create`` asks for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msgspec import UNSET

from rtcore.audio import AudioFormat
from rtcore.dialect import Dialect
from rtcore.protocol.errors import RealtimeError
from rtcore.protocol.objects import ResponseAudioOut, ResponseAudioOutputOut, ResponseOut
from rtcore.protocol.wire import ResponseParamsWire
from rtcore.provider import Capabilities
from rtcore.provider.messages import Modality, ResponseOptions
from rtcore.session.options import parse_prompt, parse_reasoning
from rtcore.session.render import beta_format, ga_format, ga_modalities, render_item
from rtcore.session.settings import (
    DEFAULT_TEMPERATURE,
    MaxTokens,
    SessionState,
    check_max_tokens,
    check_voice,
    parse_beta_format,
    parse_ga_format,
    parse_modalities,
    parse_tool_choice,
    parse_tools,
    to_neutral,
)

if TYPE_CHECKING:
    from rtcore.session.responses import ActiveResponse


def conversation_id(state: SessionState) -> str:
    return "conv_" + state.id.removeprefix("sess_")


def response_shell(r: ActiveResponse, state: SessionState, dialect: Dialect) -> ResponseOut:
    """The response object, showing what this response was asked for (its overrides) over
    the session's settings."""
    o = r.options
    voice = o.voice or state.voice or UNSET
    max_tokens: MaxTokens = state.max_output_tokens
    if o.max_output_tokens is not None:
        max_tokens = o.max_output_tokens
    common = {
        "id": r.id,
        "status": r.status,
        "status_details": r.status_details,
        "output": [render_item(i, dialect) for i in r.items],
        # An out-of-band response belongs to no conversation.
        "conversation_id": None if r.conversation is None else conversation_id(state),
        "usage": r.usage,
        "metadata": r.metadata,
        "max_output_tokens": max_tokens,
    }
    if dialect is Dialect.BETA:
        temperature = o.temperature if o.temperature is not None else state.temperature
        return ResponseOut(
            modalities=list(r.modalities),
            voice=voice,
            output_audio_format=beta_format(state.output_format),
            temperature=DEFAULT_TEMPERATURE if temperature is None else temperature,
            **common,  # type: ignore[arg-type]
        )
    return ResponseOut(
        output_modalities=ga_modalities(r.modalities),
        audio=ResponseAudioOut(
            output=ResponseAudioOutputOut(format=ga_format(state.output_format), voice=voice)
        ),
        **common,  # type: ignore[arg-type]
    )


def response_options(
    params: ResponseParamsWire | None, state: SessionState, caps: Capabilities
) -> tuple[ResponseOptions, tuple[Modality, ...], dict[str, str] | None, bool]:
    """Validate ``response.create``'s overrides: (options, modalities, metadata, out_of_band)."""
    if params is None:
        return ResponseOptions(), state.output_modalities, None, False
    p = "response"
    if params.input is not UNSET:
        raise RealtimeError(
            "unsupported_parameter",
            "'response.input' (a custom context for one response) is not supported by this "
            "gateway: add the items to the conversation instead.",
            param=f"{p}.input",
        )
    modalities = _modalities(params)
    # Where the client put each override, to name it if the provider cannot honour it.
    where: dict[str, str] = {}
    voice = _voice(params, caps, where)
    _refuse_another_format(params, state)
    max_tokens = _max_tokens(params, where)
    out_of_band = _out_of_band(params, caps)
    options = ResponseOptions(
        **_model_options(params, where),
        output_modalities=modalities,
        instructions=None if params.instructions is UNSET else params.instructions,
        voice=voice,
        temperature=None if params.temperature is UNSET else params.temperature,
        max_output_tokens=max_tokens,
        # An empty list asks for nothing: OpenAI's server keeps the session's tools, and
        # clients send one with every response (pipecat's beta service does), so it is no
        # override here either.
        tools=None if params.tools is UNSET else parse_tools(params.tools, f"{p}.tools") or None,
        tool_choice=None
        if params.tool_choice is UNSET
        else parse_tool_choice(params.tool_choice, f"{p}.tool_choice"),
    )
    for field in ("instructions", "temperature", "tools", "tool_choice"):
        where.setdefault(field, f"{p}.{field}")
    _check_overrides(options, where, state, caps)
    metadata = None if params.metadata is UNSET else params.metadata
    return options, modalities or state.output_modalities, metadata, out_of_band


def _modalities(params: ResponseParamsWire) -> tuple[Modality, ...] | None:
    """The output modalities asked for, by either dialect's name (GA's wins)."""
    modalities: tuple[Modality, ...] | None = None
    if params.modalities is not UNSET:
        modalities = parse_modalities(params.modalities, "response.modalities", Dialect.BETA)
    if params.output_modalities is not UNSET:
        modalities = parse_modalities(
            params.output_modalities, "response.output_modalities", Dialect.GA
        )
    return modalities


def _voice(params: ResponseParamsWire, caps: Capabilities, where: dict[str, str]) -> str | None:
    """The voice asked for, by either dialect's field (GA's nested one wins)."""
    p = "response"
    voice = None
    if params.voice is not UNSET:
        voice = check_voice(params.voice, caps, f"{p}.voice")
        where["voice"] = f"{p}.voice"
    if params.audio is not UNSET and params.audio.output is not UNSET:
        out = params.audio.output
        if out.voice is not UNSET:
            voice = check_voice(out.voice, caps, f"{p}.audio.output.voice")
            where["voice"] = f"{p}.audio.output.voice"
    return voice


def _max_tokens(params: ResponseParamsWire, where: dict[str, str]) -> int | None:
    """The output token limit asked for, by either dialect's name; None for no limit."""
    max_tokens = None
    for name in ("max_response_output_tokens", "max_output_tokens"):
        value = getattr(params, name)
        if value is not UNSET:
            checked = check_max_tokens(value, f"response.{name}")
            max_tokens = None if checked == "inf" else int(checked)
            where["max_output_tokens"] = f"response.{name}"
    return max_tokens


def _out_of_band(params: ResponseParamsWire, caps: Capabilities) -> bool:
    """Whether the response is asked for outside the conversation (``conversation: none``)."""
    conversation = "auto" if params.conversation is UNSET else params.conversation
    if conversation not in ("auto", "none"):
        raise RealtimeError(
            "invalid_value",
            f"Invalid value: '{conversation}'. Supported values are: 'auto' and 'none'.",
            param="response.conversation",
        )
    if conversation == "none" and not caps.out_of_band:
        raise RealtimeError(
            "unsupported_parameter",
            "This model cannot answer out of band (conversation: 'none'): its replies always "
            "join the conversation. Ask for the response in the conversation instead.",
            param="response.conversation",
        )
    return conversation == "none"


def _refuse_another_format(params: ResponseParamsWire, state: SessionState) -> None:
    """The output audio format is the session's: one response cannot change it."""
    p = "response"
    asked: list[tuple[str, AudioFormat]] = []
    output = params.audio.output if params.audio is not UNSET else UNSET
    if output is not UNSET and output.format is not UNSET:
        param = f"{p}.audio.output.format"
        asked.append((param, parse_ga_format(output.format, param)))
    if params.output_audio_format is not UNSET:
        param = f"{p}.output_audio_format"
        asked.append((param, parse_beta_format(params.output_audio_format, param, 24000)))
    for param, chosen in asked:
        if chosen != state.output_format:
            raise RealtimeError(
                "unsupported_parameter",
                "A per-response output audio format is not supported: set it with session.update.",
                param=param,
            )


def _model_options(params: ResponseParamsWire, where: dict[str, str]) -> dict[str, Any]:
    """Reasoning, parallel tool calls and a stored prompt asked for one response (checked
    here; refused by ``_check_overrides`` where the provider cannot vary them)."""
    p = "response"
    out: dict[str, Any] = {}
    if params.reasoning is not UNSET:
        out["reasoning_effort"] = parse_reasoning(params.reasoning, f"{p}.reasoning")
        where["reasoning_effort"] = f"{p}.reasoning"
    if params.parallel_tool_calls is not UNSET:
        out["parallel_tool_calls"] = params.parallel_tool_calls
        where["parallel_tool_calls"] = f"{p}.parallel_tool_calls"
    if params.prompt is not UNSET:
        out["prompt"] = parse_prompt(params.prompt, f"{p}.prompt")
        where["prompt"] = f"{p}.prompt"
    return out


def _check_overrides(
    options: ResponseOptions, where: dict[str, str], state: SessionState, caps: Capabilities
) -> None:
    """Refuse an override the provider cannot honour for one response, rather than accept
    it and answer with the session's setting. The session's own value is no override, and
    output modalities are the core's to honour (it drops audio and turns a transcript into
    text for a text-only response) whatever the provider does."""
    session = to_neutral(state, caps)
    # The session's values as the client was shown them (an unset temperature is shown as
    # its default): asking for one of those is asking for nothing different.
    shown = {"temperature": DEFAULT_TEMPERATURE if session.temperature is None else None}
    for field in ResponseOptions.__struct_fields__:
        value = getattr(options, field)
        if value is None or field == "output_modalities" or field in caps.response_overrides:
            continue
        if value in (getattr(session, field), shown.get(field)):
            continue
        raise RealtimeError(
            "unsupported_parameter",
            f"This model cannot change '{field}' for a single response; set it for the "
            "session with session.update instead.",
            param=where[field],
        )
    if options.tools and not caps.tools:
        raise RealtimeError(
            "unsupported_parameter",
            "This model does not call functions.",
            param=where["tools"],
        )
