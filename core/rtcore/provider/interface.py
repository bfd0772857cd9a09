"""The interface a provider plugin implements.

A ``ProviderSpec`` (returned from the ``rtcore_register_providers`` hook) names a provider
and builds a ``Provider`` for one configured model. The core opens one ``ProviderSession`` per
client connection, feeds it neutral commands and reads neutral events from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol, runtime_checkable

import msgspec

from rtcore.provider.messages import (
    SESSION_OPTIONS,
    AudioEncoding,
    Command,
    Event,
    Modality,
    ResponseOptions,
    SessionConfig,
)


class Prices(msgspec.Struct, frozen=True, kw_only=True):
    """USD per token, as the model's vendor lists them: what a session's usage costs. An
    operator overrides them per model with LiteLLM's ``model_info`` cost fields.

    ``input_audio_second`` / ``output_audio_second``: USD per second of audio, for a
    vendor that bills by duration rather than tokens (the seconds the session sent to the
    provider and received from it, as the gateway measured them)."""

    input_text: float = 0.0
    output_text: float = 0.0
    input_audio: float = 0.0
    output_audio: float = 0.0
    input_audio_second: float = 0.0
    output_audio_second: float = 0.0
    # Input tokens served from the vendor's cache (Usage.cached_tokens); None: billed as
    # any other input token.
    cached_input_text: float | None = None
    cached_input_audio: float | None = None


class Capabilities(msgspec.Struct, frozen=True, kw_only=True):
    """What a model can do, declared up front; the core refuses the rest itself with
    ``unsupported_parameter`` instead of passing on what the provider would ignore.

    ``voices`` empty means any voice name is accepted; ``normalize_voice`` (when given) maps
    a client's voice name to the provider's (``"Matthew"`` to ``"matthew"``, say) or raises
    ``ValueError`` with a message for the client. Sample rates are the PCM16 rates the
    provider accepts (input) and can produce (output); the core converts anything else.
    ``server_vad``: the provider detects turns itself (``turn_detection`` may be set);
    ``manual_commit``: it takes committed turns (``turn_detection: null``); ``tools``: it
    calls functions. ``check_config`` (when given) sees every configuration before it
    takes effect and raises ``SettingRefused`` for one the model would reject, so the
    client gets an error and the session keeps its settings, instead of an upstream that
    refuses the stream later. ``response_overrides`` names the ``ResponseOptions`` fields
    the provider honours for one response (``ALL_RESPONSE_OVERRIDES``: every one); a
    ``response.create`` asking for another one with a value that differs from the
    session's is refused. Output modalities need no declaring: the core honours them.
    ``out_of_band``: it answers a response outside the conversation
    (``response.create`` with ``conversation: "none"``) without that response reaching the
    model's context; ``cancel``: it stops a response when asked (``response.cancel``);
    ``truncate``: it cuts an assistant item to what was heard
    (``conversation.item.truncate``). A provider that cannot keep one of these promises
    declares it False and the core refuses the request, rather than the provider faking it.
    ``session_options`` names the ``SESSION_OPTIONS`` fields of ``SessionConfig`` the
    provider applies (transcription settings, noise reduction, speed, reasoning effort,
    truncation, parallel tool calls, a stored prompt, custom voice ids); the others the
    core accepts from clients and shows as not applied, or refuses (a custom voice).
    ``passthrough_encodings`` names the G.711 encodings (``"g711_ulaw"``, ``"g711_alaw"``)
    the provider takes and produces as they are, at 8 kHz: a client speaking one of them
    has its bytes passed through unconverted both ways (``SessionConfig.input_encoding``);
    any other client audio is converted to PCM16 at the declared rates.
    """

    input_sample_rates: tuple[int, ...] = (16000,)
    output_sample_rates: tuple[int, ...] = (24000,)
    voices: tuple[str, ...] = ()
    default_voice: str | None = None
    normalize_voice: Callable[[str], str] | None = None
    output_modalities: tuple[Modality, ...] = ("text", "audio")
    server_vad: bool = True
    manual_commit: bool = True
    tools: bool = True
    # What of OpenAI's turn detection the provider can vary: a turn_detection with
    # create_response or interrupt_response false is refused unless named here. (The
    # idle timeout is the core's, for every provider.)
    turn_options: frozenset[str] = frozenset({"create_response", "interrupt_response"})
    response_overrides: frozenset[str] = frozenset()
    out_of_band: bool = True
    cancel: bool = True
    truncate: bool = True
    check_config: Callable[[SessionConfig], None] | None = None
    session_options: frozenset[str] = frozenset()
    passthrough_encodings: frozenset[AudioEncoding] = frozenset()
    # What usage costs (spend records and budgets); None: nothing is charged.
    prices: Prices | None = None
    # The vendor runs the session's MCP tools itself: it is given the servers
    # (SessionConfig.mcp_servers), reports its listings and calls (the Remote* events)
    # and takes the client's approvals (AnswerApproval). Otherwise the gateway runs them.
    remote_mcp: bool = False


class SettingRefused(ValueError):
    """Raised by ``Capabilities.check_config``: ``field`` is the ``SessionConfig`` field (with
    an index and key for tools: ``tools[2].name``), ``message`` says the model's rule."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


ALL_RESPONSE_OVERRIDES = frozenset(ResponseOptions.__struct_fields__)
ALL_SESSION_OPTIONS = SESSION_OPTIONS


class DeploymentLimits(msgspec.Struct, frozen=True, kw_only=True):
    """LiteLLM's per-deployment limits as they apply to sessions (each None: no limit):
    ``rpm`` is sessions opened per minute, ``max_parallel_requests`` sessions at once,
    ``timeout`` how long opening one may take. Counted by each process."""

    sessions_per_minute: int | None = None
    max_sessions: int | None = None
    open_timeout_seconds: float | None = None


class ModelConfig(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the model table.

    ``name`` is what clients ask for (``?model=NAME``); ``model`` is the provider's own id;
    ``params`` are the provider options from the config file, with ``os.environ/VAR``
    references already resolved. Treat ``params`` as possibly holding secrets. ``info`` is
    the entry's ``model_info`` (LiteLLM's place for facts about the model: ``mode``, and
    what a provider reads there, such as Bedrock's ``use_successor`` and ``base_model``).

    Several entries may share a ``name`` (deployments of one model, e.g. two regions):
    each has its own ``deployment`` id, and a session is routed to one of them when it
    opens; ``order`` (LiteLLM's ``litellm_params.order``) ranks them, lowest first.
    """

    name: str
    provider: str
    model: str
    params: Mapping[str, object] = msgspec.field(default_factory=dict)
    info: Mapping[str, object] = msgspec.field(default_factory=dict)
    deployment: str = ""
    order: int | None = None
    limits: DeploymentLimits = DeploymentLimits()
    # An entry ``--provider NAME`` offers on its own (each model id the provider lists,
    # answering to itself): no config named it, so what a provider has to say about that
    # model waits until a session asks for it.
    implicit: bool = False

    @property
    def deployment_id(self) -> str:
        """This entry among the deployments of its name (the name itself when alone)."""
        return self.deployment or self.name


class ProviderSession(Protocol):
    """One upstream conversation. ``send`` must not block on the model's output, and
    ``events`` is read by exactly one task, until it ends."""

    async def send(self, command: Command) -> None: ...

    def events(self) -> AsyncIterator[Event]: ...

    async def aclose(self) -> None: ...


class Provider(Protocol):
    """A configured model. ``open_session`` raises ``ProviderUnavailable`` with a message
    for the user when the upstream cannot be reached or refuses."""

    @property
    def capabilities(self) -> Capabilities: ...

    async def open_session(self, config: SessionConfig) -> ProviderSession: ...

    async def aclose(self) -> None: ...


# -- what a provider or its session may also do (checked with isinstance) ----------------


@runtime_checkable
class WarmsUp(Protocol):
    """A ``Provider`` that prepares ahead of the first client: called in the background at
    start (resolve credentials, open a pooled connection). A failure is logged, never
    fatal; a ``ProviderUnavailable``'s message is what the log says."""

    async def warm_up(self) -> None: ...


@runtime_checkable
class ReportsReadiness(Protocol):
    """A ``Provider`` that can tell whether sessions can be served now (``GET
    /health/readiness``): None when they can, else the reason, for the operator."""

    async def readiness(self) -> str | None: ...


@runtime_checkable
class ReportsConnected(Protocol):
    """A ``ProviderSession`` that opens its upstream lazily but can open it now and wait:
    the core asks before the client hears of the session when another deployment could
    take it instead. Raises ``ProviderUnavailable`` when the upstream cannot be had."""

    async def connected(self) -> None: ...


class ProviderUnavailable(Exception):
    """Raised by ``open_session``; ``code`` becomes the OpenAI error code."""

    def __init__(self, message: str, *, code: str = "provider_unavailable") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ProviderSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Registers a provider.

    ``model_prefixes`` claims LiteLLM-style model strings in config files: a spec with
    prefix ``"bedrock"`` serves ``litellm_params.model: bedrock/<id>`` when ``accepts(<id>)``
    is true. With ``rtcore serve --provider NAME`` and no config file, ``default_model``
    answers to ``NAME`` and each of ``models`` answers to its own id.

    ``model_info_keys`` are the ``model_info`` keys the provider reads (beyond the core's
    ``mode`` and ``id``): the others a config gives are named at start as not applied.
    None: the provider does not say, and its entries' ``model_info`` is not checked.

    ``realtime_by_id``: for a config entry that does not say its mode (LiteLLM then takes it
    for a chat model), whether the id alone shows a realtime model; None: whatever it
    ``claims``. A provider whose ids are the operator's own names (Azure deployments) says
    which names look realtime, so that a config shared with LiteLLM's chat entries starts.
    """

    name: str
    factory: Callable[[ModelConfig], Provider]
    description: str = ""
    default_model: str
    models: tuple[str, ...] = ()
    model_prefixes: tuple[str, ...] = ()
    accepts: Callable[[str], bool] | None = None
    model_info_keys: tuple[str, ...] | None = None
    realtime_by_id: Callable[[str], bool] | None = None

    def claims(self, model_id: str) -> bool:
        if self.accepts is not None:
            return self.accepts(model_id)
        return model_id in self.models or model_id == self.default_model

    def realtime_without_mode(self, model_id: str) -> bool:
        """An entry with no ``model_info.mode`` naming ``model_id`` is one of this
        provider's realtime models."""
        if self.realtime_by_id is not None:
            return self.claims(model_id) and self.realtime_by_id(model_id)
        return self.claims(model_id)
