"""A config file's ``model_list``: each realtime entry checked into a ``ModelConfig`` of the
installed provider that serves it; the entries that are no realtime model (a file shared
with LiteLLM lists chat and embedding models too) named in one log line and skipped."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping

import msgspec

from rtcore.config.errors import ConfigError
from rtcore.config.known_keys import CORE_MODEL_INFO, MODEL_ENTRY, SECTIONS, missing_hint, unapplied
from rtcore.config.values import kind, mapping, resolve_env, string
from rtcore.provider import DeploymentLimits, ModelConfig, ProviderSpec

# What the file says is logged under one name, whichever module read it: an operator
# filters on "rtcore.config", not on how the reading is split.
log = logging.getLogger("rtcore.config")

# LiteLLM's per-deployment limits, applied to sessions: opens per minute, sessions at once,
# and how long opening one may take.
LIMIT_KEYS = ("rpm", "max_parallel_requests", "timeout")


def model_list(
    top: Mapping[str, object], providers: Mapping[str, ProviderSpec], source: str
) -> tuple[list[ModelConfig], dict[str, str]]:
    """The realtime models of ``top["model_list"]``, and each deployment id's key path
    (``model_list[0]``) for later error messages."""
    raw_list = top.get("model_list")
    if not isinstance(raw_list, list) or not raw_list:
        hint = missing_hint(top, "model_list", SECTIONS) if raw_list is None else ""
        raise ConfigError(
            source,
            "model_list",
            f"expected a non-empty list of models, got {kind(raw_list)}{hint}",
        )
    models: list[ModelConfig] = []
    places: list[str] = []
    # Each entry that is not a realtime model is named once, in one line, with why.
    skipped: list[str] = []
    for index, raw in enumerate(raw_list):
        here = f"model_list[{index}]"
        found = _entry(raw, here, providers, source)
        if isinstance(found, str):
            skipped.append(found)
        else:
            models.append(found)
            places.append(here)
    if skipped:
        log.info(
            "%s: skipping what is not a realtime model (rtcore serves realtime sessions; an "
            "entry without model_info.mode is a chat model to LiteLLM): %s",
            source,
            "; ".join(skipped),
        )
    if not models:
        raise ConfigError(
            source,
            "model_list",
            "no realtime model: every entry was skipped (see the line above); a realtime "
            "entry names a model an installed provider serves, or says model_info.mode: "
            "realtime",
        )
    models = _name_deployments(models)
    seen = {m.deployment_id: here for m, here in zip(models, places, strict=True)}
    if len(seen) < len(models):
        taken = [m.deployment_id for m in models]
        twice = next(d for d in taken if taken.count(d) > 1)
        raise ConfigError(source, "model_list", f"model_info.id {twice!r} is given to two entries")
    return models, seen


def _entry(
    raw: object, here: str, providers: Mapping[str, ProviderSpec], source: str
) -> ModelConfig | str:
    """One entry of model_list as a model, or (a string) the entry and why it is skipped."""
    entry = mapping(raw, here, source)
    info = mapping(entry.get("model_info") or {}, f"{here}.model_info", source)
    mode = info.get("mode")
    label = f"{here} {entry.get('model_name', '?')}"
    if mode is not None and mode != "realtime":
        return f"{label} (mode {mode})"
    name = _required(entry, "model_name", here, source, string, MODEL_ENTRY)
    params = _required(entry, "litellm_params", here, source, mapping, MODEL_ENTRY)
    model = _required(params, "model", f"{here}.litellm_params", source, string)
    if mode is None and (
        why := not_realtime(
            model, providers, f"{here}.litellm_params.model", source, info.get("base_model")
        )
    ):
        return f"{label} ({why})"
    params = mapping(resolve_env(params, f"{here}.litellm_params", source), here, source)
    spec, model_id = match_provider(model, providers, f"{here}.litellm_params.model", source)
    _name_unapplied(entry, info, spec, here, source)
    order = params.get("order")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int)):
        raise ConfigError(source, f"{here}.litellm_params.order", "expected a whole number")
    limits = deployment_limits(params, f"{here}.litellm_params", source)
    rest = {k: v for k, v in params.items() if k not in ("model", "order", *LIMIT_KEYS)}
    deployment = info.get("id")
    return ModelConfig(
        name=name,
        provider=spec.name,
        model=model_id,
        params=rest,
        info=info,
        deployment=str(deployment) if deployment is not None else "",
        order=order,
        limits=limits,
    )


def match_provider(
    model: str, providers: Mapping[str, ProviderSpec], key: str, source: str
) -> tuple[ProviderSpec, str]:
    """Find the provider serving a LiteLLM model string ``PREFIX/ID``. ``PREFIX`` is one of
    a provider's ``model_prefixes`` or the provider's own name."""
    prefix, sep, model_id = model.partition("/")
    if not sep or not prefix or not model_id:
        raise ConfigError(
            source,
            key,
            f"expected 'PROVIDER/MODEL_ID' such as 'bedrock/amazon.nova-sonic-v1:0', got {model!r}",
        )
    by_prefix = [s for s in providers.values() if prefix in s.model_prefixes or prefix == s.name]
    if not by_prefix:
        raise ConfigError(
            source,
            key,
            f"no installed provider serves models starting with {prefix + '/'!r}. "
            f"Installed providers: {_describe(providers)}",
        )
    claimed = [s for s in by_prefix if s.claims(model_id)]
    if not claimed:
        known = sorted({m for s in by_prefix for m in (s.default_model, *s.models)})
        raise ConfigError(
            source,
            key,
            f"provider {by_prefix[0].name!r} does not serve model id {model_id!r}; "
            f"known ids: {', '.join(known)}",
        )
    if len(claimed) > 1:
        names = ", ".join(s.name for s in claimed)
        raise ConfigError(
            source,
            key,
            f"{model!r} is claimed by several providers ({names}); "
            "disable all but one with --disable-plugin NAME",
        )
    return claimed[0], model_id


def deployment_limits(params: Mapping[str, object], where: str, source: str) -> DeploymentLimits:
    values: dict[str, float] = {}
    for key in LIMIT_KEYS:
        value = params.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError(source, f"{where}.{key}", f"expected a number above 0, got {value!r}")
        values[key] = value
    rpm, parallel = values.get("rpm"), values.get("max_parallel_requests")
    return DeploymentLimits(
        sessions_per_minute=int(rpm) if rpm is not None else None,
        max_sessions=int(parallel) if parallel is not None else None,
        open_timeout_seconds=values.get("timeout"),
    )


def not_realtime(
    model: str,
    providers: Mapping[str, ProviderSpec],
    key: str,
    source: str,
    base_model: object = None,
) -> str | None:
    """Why an entry that does not say its mode is no realtime model (None: it is one, by
    an installed provider's list, or by the ``model_info.base_model`` it names). A near
    miss of a realtime model's id is warned about: a typo would otherwise pass for a chat
    model."""
    prefix, sep, model_id = model.partition("/")
    by_prefix = [s for s in providers.values() if prefix in s.model_prefixes or prefix == s.name]
    if isinstance(base_model, str) and by_prefix:
        base = base_model.rpartition("/")[2]
        if "realtime" in base.lower() or any(s.realtime_without_mode(base) for s in by_prefix):
            return None
    if not sep or not by_prefix:
        if "realtime" in model_id.lower():
            return None  # meant as a realtime model: the error says which plugin is missing
        return f"{model}: no installed provider serves {prefix + '/' if sep else model!r}"
    if any(s.realtime_without_mode(model_id) for s in by_prefix):
        return None
    known = sorted({m for s in by_prefix for m in (s.default_model, *s.models)})
    near = difflib.get_close_matches(model_id, known, n=1, cutoff=0.85)
    if near:
        log.warning(
            "%s: %s %r is not a realtime model rtcore knows; did you mean %r? The entry is "
            "skipped as a chat model (with model_info.mode: realtime it is an error instead)",
            source,
            key,
            model,
            f"{prefix}/{near[0]}",
        )
    return f"{model}: not a realtime model of provider {by_prefix[0].name!r}"


def _describe(providers: Mapping[str, ProviderSpec]) -> str:
    if not providers:
        return "(none)"
    parts = []
    for spec in providers.values():
        prefixes = ", ".join(f"{p}/..." for p in (*spec.model_prefixes, spec.name))
        parts.append(f"{spec.name} ({prefixes})")
    return "; ".join(parts)


def _required[T](
    section: dict[str, object],
    key: str,
    where: str,
    source: str,
    check: Callable[[object, str, str], T],
    known: frozenset[str] = frozenset(),
) -> T:
    """``section[key]`` checked by ``check``; when it is missing and another key of the
    section is that key misspelt (the closest to it among ``known``), the error says which."""
    here = f"{where}.{key}"
    if key not in section:
        hint = missing_hint(section, key, known)
        if hint:
            raise ConfigError(source, here, f"missing{hint}")
    return check(section.get(key), here, source)


def _name_unapplied(
    entry: dict[str, object],
    info: dict[str, object],
    spec: ProviderSpec,
    here: str,
    source: str,
) -> None:
    """Name the keys of a model_list entry and of its model_info nobody reads (the
    provider checks its own litellm_params)."""
    unapplied(
        source,
        here,
        [key for key in entry if key not in MODEL_ENTRY],
        MODEL_ENTRY,
        "a model_list entry holds model_name, litellm_params and model_info",
    )
    if spec.model_info_keys is None:
        return
    reads = CORE_MODEL_INFO | set(spec.model_info_keys)
    unapplied(
        source,
        f"{here}.model_info",
        [key for key in info if key not in reads],
        reads,
        f"neither rtcore nor provider {spec.name!r} reads them (they read "
        f"{', '.join(sorted(reads))})",
    )


def _name_deployments(models: list[ModelConfig]) -> list[ModelConfig]:
    """Entries sharing a model_name are deployments of it: each gets an id (its
    model_info.id, else NAME[k] by its place among them)."""
    counts: dict[str, int] = {}
    for m in models:
        counts[m.name] = counts.get(m.name, 0) + 1
    out: list[ModelConfig] = []
    place: dict[str, int] = {}
    for m in models:
        k = place.get(m.name, 0)
        place[m.name] = k + 1
        if counts[m.name] > 1 and not m.deployment:
            m = msgspec.structs.replace(m, deployment=f"{m.name}[{k}]")
        out.append(m)
    return out
