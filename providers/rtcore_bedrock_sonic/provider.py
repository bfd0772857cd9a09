"""The ``Provider`` for one configured Nova Sonic model.

One SDK client per model, shared by its sessions, each on a connection of its own. The
client is built on the first session, after checking region and credentials, so that a
misconfiguration becomes a clear error instead of the SDK's silent hang.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from rtcore.keys.pricing import OVERRIDES
from rtcore.kit import ReadinessCheck, read_options
from rtcore.logs import register_secrets
from rtcore.provider import (
    Capabilities,
    ModelConfig,
    Prices,
    ProviderSession,
    ProviderUnavailable,
)
from rtcore.provider.messages import SessionConfig
from rtcore_bedrock_sonic import limits
from rtcore_bedrock_sonic.models import (
    KNOWN_MODELS,
    SAMPLE_RATES,
    ModelProfile,
    base_model_id,
    profile_for,
    resolve_voice,
    retirement_notice,
    with_base,
)
from rtcore_bedrock_sonic.options import SessionOptions, Upstream
from rtcore_bedrock_sonic.params import param_warnings
from rtcore_bedrock_sonic.regions import RegionError, check_region, configured_region

if TYPE_CHECKING:
    from rtcore_bedrock_sonic.aws import PooledCRTClient

log = logging.getLogger(__name__)


_SECRET_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# What a start with no AWS account set up fails with, and what the log then suggests (the
# emulator is a plugin of its own, in the rtcore[emulator] extra).
NO_ACCOUNT_CODES = frozenset({"missing_credentials", "missing_region"})
EMULATOR_HINT = (
    "To try rtcore without an AWS account, serve replies from the bundled Nova Sonic "
    "emulator instead: add --emulator to rtcore serve (the rtcore[emulator] extra)."
)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.debug("warming the Bedrock connection failed: %s", future.exception())


def session_options(params: Mapping[str, object]) -> SessionOptions:
    try:
        return read_options(params, SessionOptions, "Nova Sonic")
    except ValueError as exc:
        raise ProviderUnavailable(str(exc), code="invalid_config") from exc


def _served_model(model: ModelConfig) -> tuple[str, ModelProfile, ModelProfile | None, str]:
    """The id to send Bedrock, its profile, the retired profile when the configured model
    is retired and served as written anyway (``model_info.use_successor: false``), and what
    the log must say of a retired model ("" for a current one)."""
    model_id = model.model.removeprefix("bedrock/")
    base_model = model.info.get("base_model")
    if base_model is not None:
        # An id rtcore does not know (a newer generation, an inference profile) that
        # behaves like a known model: sent as written, with that model's profile.
        known = profile_for(str(base_model))
        if known is None:
            raise ValueError(
                f"model_info.base_model {base_model!r} is not a model rtcore knows "
                f"({', '.join(KNOWN_MODELS)})"
            )
        log.info(
            "model %r: %s is served with the behaviour of %s (model_info.base_model)",
            model.name,
            model_id,
            known.base_id,
        )
        return model_id, known, None, ""
    profile = profile_for(model_id)
    if profile is None:
        raise ValueError(
            f"{model_id!r} is not a Nova Sonic model rtcore knows ({', '.join(KNOWN_MODELS)}): "
            "if it behaves like one, say which with model_info.base_model"
        )
    if not profile.retired() or profile.successor is None:
        return model_id, profile, None, ""
    use_successor = model.info.get("use_successor", True)
    if not isinstance(use_successor, bool):
        raise ValueError(f"model_info.use_successor must be true or false, not {use_successor!r}")
    if not use_successor:
        notice = (
            f"model {model.name!r}: {retirement_notice(profile)}; serving it as written "
            "(model_info.use_successor: false): Bedrock ends its streams unanswered unless "
            "it still serves your account"
        )
        return model_id, profile, profile, notice
    served = with_base(model_id, profile.successor)
    successor = profile_for(served)
    assert successor is not None, "a successor is a known model"
    notice = (
        f"model {model.name!r}: {retirement_notice(profile)}; serving it with its successor "
        f"{served} (model_info.use_successor: false sends {model_id} as written)"
    )
    return served, successor, None, notice


def _priced(profile: ModelProfile, info: Mapping[str, object]) -> bool:
    """Whether spend can be charged: the model has list prices, or the config gives some."""
    return profile.prices != Prices() or any(key in info for key in OVERRIDES)


def _check_config(model: ModelConfig) -> None:
    """What can be told at start: unknown options (warned) and a region that is none.
    Credentials in the environment are masked in the log from the start."""
    register_secrets(os.environ.get(name) for name in _SECRET_ENV)
    for warning in param_warnings(model.name, model.params):
        log.warning("%s", warning)
    region, where = configured_region(model.params)
    if region is not None:
        try:
            doubt = check_region(region, where)
        except RegionError as exc:
            raise ValueError(str(exc)) from None
        if doubt:
            log.warning("model %r: %s", model.name, doubt)


class SonicProvider:
    def __init__(self, model: ModelConfig) -> None:
        self._model = model
        _check_config(model)
        self._model_id, self._profile, self._retired, notice = _served_model(model)
        # A retired model a config names is told of at start; one --provider merely offers
        # under its id, when a session first asks for it.
        self._notice = notice if model.implicit else ""
        if notice and not model.implicit:
            log.warning("%s", notice)
        if not model.implicit and not _priced(self._profile, model.info):
            log.warning(
                "model %r: AWS has published no price for %s that rtcore knows; its "
                "sessions cost 0 unless model_info sets input_cost_per_audio_token, "
                "output_cost_per_audio_token, input_cost_per_token and output_cost_per_token",
                model.name,
                self._profile.base_id,
            )
        self._upstream: Upstream | None = None
        self._transport: PooledCRTClient | None = None
        self._endpoint = ""
        self._warm: asyncio.Future[None] | None = None
        self._check = ReadinessCheck(
            self._upstream_once, starting="resolving the AWS region and credentials"
        )

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            input_sample_rates=SAMPLE_RATES,
            output_sample_rates=SAMPLE_RATES,
            voices=self._profile.voices,
            default_voice=self._profile.default_voice,
            output_modalities=("text", "audio"),
            normalize_voice=partial(resolve_voice, self._profile),
            check_config=limits.check_config,
            server_vad=True,
            manual_commit=True,
            tools=True,
            # Nova answers every turn it detects and stops when spoken over; the session
            # holds the answer until asked (create_response false) and holds speech back
            # during a reply (interrupt_response false).
            turn_options=frozenset({"create_response", "interrupt_response"}),
            # Voice, tools and inference settings are fixed per Nova stream; instructions
            # go into the turn's text.
            response_overrides=frozenset({"instructions"}),
            prices=self._profile.prices,
        )

    async def _upstream_once(self) -> Upstream:
        if self._upstream is None:
            self._upstream = await self._build()
        return self._upstream

    async def _get_upstream(self) -> Upstream:
        return await self._check.run()

    async def readiness(self) -> str | None:
        """None when sessions can be served; else why not (no credentials, no region, ...).
        A model found unusable is looked at again, in the background, every few seconds,
        so that credentials that appear later (a token file, a profile) make it ready."""
        return None if self._upstream is not None else self._check.reason()

    async def _build(self) -> Upstream:
        try:
            # The AWS SDK takes ~0.7 s of CPU to import: in a thread, so that a warm-up at
            # start neither holds the event loop nor delays the port opening.
            await asyncio.to_thread(importlib.import_module, "rtcore_bedrock_sonic.aws")
            from rtcore_bedrock_sonic import aws
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ProviderUnavailable(
                "The Bedrock provider needs the AWS SDK with its HTTP/2 transport: "
                "pip install 'aws-sdk-bedrock-runtime[awscrt]'",
                code="provider_unavailable",
            ) from exc
        params = self._model.params
        options = session_options(params)
        settings = aws.settings_from(params)
        client, config = await aws.build_client(settings)
        await aws.check_credentials(config, settings.credentials_timeout)
        self._transport = cast(aws.PooledCRTClient, config.transport)
        self._endpoint = aws.endpoint_of(settings, str(config.region))
        log.info(
            "Nova Sonic model %s (%s) via %s",
            self._model.name,
            base_model_id(self._model_id),
            settings.endpoint or f"Bedrock in {config.region}",
        )
        return Upstream(
            client=client,
            model_id=self._model_id,
            profile=self._profile,
            options=options,
            region=config.region,
            retired=self._retired,
            credentials=config.aws_credentials_identity_resolver,
            lanes=self._transport,
        )

    async def warm_up(self) -> None:
        """Resolve configuration and credentials and open the pooled connection to Bedrock
        ahead of the first client: sessions that start together on a cold client would
        each open a TLS connection of their own. Raises what the first session would, and
        for a start with no AWS account, how to try rtcore without one."""
        try:
            upstream = await self._get_upstream()
        except ProviderUnavailable as exc:
            if exc.code in NO_ACCOUNT_CODES:
                raise ProviderUnavailable(f"{exc.message} {EMULATOR_HINT}", code=exc.code) from exc
            raise
        assert self._transport is not None
        if self._warm is None or (self._warm.done() and self._warm.exception() is not None):
            # Never cancelled (awscrt fails on a cancelled connect future): a slow connect
            # is waited for up to the open timeout and then left to finish on its own.
            self._warm = asyncio.ensure_future(self._transport.warm(self._endpoint))
            self._warm.add_done_callback(_retrieve)
        async with asyncio.timeout(upstream.options.open_timeout_seconds):
            await asyncio.shield(self._warm)

    async def open_session(self, config: SessionConfig) -> ProviderSession:
        from rtcore_bedrock_sonic.session import SonicSession

        try:
            resolve_voice(self._profile, config.voice)
        except ValueError as exc:
            raise ProviderUnavailable(str(exc), code="invalid_value") from exc
        upstream = await self._get_upstream()
        if self._notice:
            log.warning("%s", self._notice)
            self._notice = ""
        return SonicSession(upstream, config)

    async def aclose(self) -> None:
        self._check.close()  # a recheck running in the background stops
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            await upstream.client.close()
