"""The keys of a config file that rtcore does not apply: each is named at start, with the
key it was probably meant to be when it is close to one rtcore reads. A file written for
LiteLLM holds many keys that mean nothing to a realtime gateway; a misspelt one must not
pass for one of those."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping

from rtcore.config.errors import ConfigError
from rtcore.keys.pricing import OVERRIDES as PRICE_OVERRIDES

# What the file says is logged under one name, whichever module read it: an operator
# filters on "rtcore.config", not on how the reading is split.
log = logging.getLogger("rtcore.config")

# How alike a key must be to one rtcore reads to count as a misspelling of it
# (difflib's ratio: master_kye / master_key is 0.9, api_key / master_key 0.71).
CUTOFF = 0.75


def likely_key(key: object, known: Iterable[str]) -> str | None:
    """The known key ``key`` was probably meant to be, if one is close (case ignored)."""
    if not isinstance(key, str):
        return None
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(key.lower(), sorted(by_lower), n=1, cutoff=CUTOFF)
    return by_lower[close[0]] if close else None


def misspelt(section: Mapping[str, object], wanted: str, known: Iterable[str]) -> str | None:
    """A key of ``section`` that is a misspelling of ``wanted`` (which it lacks), or None:
    the key closest to it among ``known`` plus the section's own keys is ``wanted``."""
    if wanted in section:
        return None
    candidates = set(known) | {wanted}
    for key in section:
        if key not in candidates and likely_key(key, candidates) == wanted:
            return key
    return None


def missing_hint(section: Mapping[str, object], wanted: str, known: Iterable[str]) -> str:
    """``; did you mean ...`` for an error about a key ``section`` lacks, when one of its
    keys is that key misspelt; else nothing."""
    found = misspelt(section, wanted, known)
    return f" (found {found!r}: did you mean {wanted}?)" if found is not None else ""


def unapplied(
    source: str,
    section: str,
    keys: Iterable[str],
    known: Iterable[str],
    why: str,
    theirs: Iterable[str] = (),
) -> None:
    """Log at WARNING ``keys``, the keys of ``section`` (``router_settings``,
    ``model_list[0]``...) that rtcore does not apply: one close to a key it reads
    (``known``) on a line of its own naming that key, the others together with ``why``.
    ``theirs``: LiteLLM's own keys, never taken for a misspelling of one rtcore reads."""
    known = frozenset(known)
    theirs = frozenset(theirs)
    others: list[str] = []
    for key in keys:
        guess = None if key in theirs else likely_key(key, known - {key})
        if guess is not None:
            log.warning(
                "%s: %s.%s is not a setting rtcore knows; did you mean %s? It is ignored",
                source,
                section,
                key,
                guess,
            )
        else:
            others.append(key)
    if others:
        log.warning("%s: %s %s: %s; ignored", source, section, ", ".join(sorted(others)), why)


def refuse_misspelt_master_key(source: str, top: Mapping[str, object]) -> None:
    """A master key under a misspelt name would leave the server open with no key: a
    ``ConfigError`` naming the likely key, never a start without it. Looks at
    ``general_settings`` and at a misspelt ``general_settings`` section."""
    settings = top.get("general_settings")
    if isinstance(settings, Mapping):
        found = misspelt(settings, "master_key", GENERAL_SETTINGS)
        if found is not None:
            raise ConfigError(
                source,
                f"general_settings.{found}",
                "not a setting rtcore knows; did you mean master_key? (refusing to start "
                "without the master key this file appears to set)",
            )
    found = misspelt(top, "general_settings", SECTIONS)
    if found is None:
        return
    section = top[found]
    if isinstance(section, Mapping) and (
        "master_key" in section or misspelt(section, "master_key", GENERAL_SETTINGS) is not None
    ):
        raise ConfigError(
            source,
            found,
            "not a section rtcore knows; did you mean general_settings? (refusing to start "
            "without the master key this file appears to set)",
        )


# The top-level sections rtcore reads.
SECTIONS = frozenset(
    {
        "model_list",
        "general_settings",
        "environment_variables",
        "litellm_settings",
        "router_settings",
        "mcp_servers",
    }
)
# What rtcore applies of each part of a file; general_settings' in the order a warning
# lists them.
APPLIED_GENERAL_SETTINGS = (
    "master_key",
    "database_url",
    "allowed_origins",
    "ssl_certfile",
    "ssl_keyfile",
    # MCP (rtcore.config.mcp)
    "mcp_call_timeout",
    "mcp_max_output_bytes",
    "mcp_client_server_urls",
)
GENERAL_SETTINGS = frozenset(APPLIED_GENERAL_SETTINGS)
UNAPPLIED_GENERAL_SETTINGS = (
    "LiteLLM proxy settings rtcore does not apply (it applies "
    f"{', '.join(APPLIED_GENERAL_SETTINGS[:-1])} and {APPLIED_GENERAL_SETTINGS[-1]})"
)
# LiteLLM's general_settings that look like one rtcore reads, and are not misspellings.
LITELLM_GENERAL_SETTINGS = frozenset({"allowed_ips"})
MODEL_ENTRY = frozenset({"model_name", "litellm_params", "model_info"})
# The model_info keys the core reads (LiteLLM's cost fields price sessions); a provider
# names those it reads itself.
# mode: realtime entries only; id: the deployment's name; failback: a session that failed
# over returns to it once healthy; voice_map: a session's voice on this deployment, by the
# voice it had before a failover.
CORE_MODEL_INFO = frozenset({"mode", "id", "failback", "voice_map", *PRICE_OVERRIDES})
