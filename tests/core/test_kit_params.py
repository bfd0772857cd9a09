"""The kit's reading of a model's ``litellm_params``: tunables a provider extends, bad values
named by key, string options, and a warning for every key a provider does not read."""

from __future__ import annotations

import pytest

from rtcore.kit import (
    LITELLM_ONLY,
    SessionTunables,
    SupervisorPolicy,
    env_value,
    read_options,
    text_param,
    unknown_param_warnings,
)


class Options(SessionTunables, frozen=True, kw_only=True):
    rotate_after_seconds: float = 540.0
    connection_limit_seconds: float = 600.0
    language: str | None = None


def test_the_tunables_are_the_supervisors_with_its_defaults() -> None:
    derived = {"max_backlog_bytes"}
    shared = set(SupervisorPolicy.__struct_fields__) - derived
    assert shared <= set(SessionTunables.__struct_fields__)
    # The base's defaults are the supervisor's: a provider that overrides none gets those.
    assert SessionTunables().policy(16000) == SupervisorPolicy()


def test_a_subclass_overrides_defaults_and_adds_fields() -> None:
    options = Options()
    assert (options.rotate_after_seconds, options.connection_limit_seconds) == (540.0, 600.0)
    assert options.open_timeout_seconds == 10.0
    assert options.language is None
    set_both = Options(rotate_after_seconds=7.0, language="en-US")
    assert (set_both.rotate_after_seconds, set_both.language) == (7.0, "en-US")


def test_the_policy_carries_each_tunable_and_the_backlog_in_pcm16_bytes() -> None:
    options = Options(stall_timeout_seconds=4.0, max_backlog_seconds=2.0, throttle_attempts=3)
    policy = options.policy(16000)
    assert policy.rotate_after_seconds == 540.0
    assert policy.connection_limit_seconds == 600.0
    assert policy.stall_timeout_seconds == 4.0
    assert policy.throttle_attempts == 3
    assert policy.max_backlog_bytes == 2 * 16000 * 2
    assert options.policy(24000).max_backlog_bytes == 2 * 24000 * 2


def test_read_options_takes_its_fields_and_converts_strings() -> None:
    params: dict[str, object] = {
        "rotate_after_seconds": "100",  # as os.environ/NAME gives it
        "language": "de-DE",
        "api_key": "not an option of the struct",
    }
    options = read_options(params, Options, "Example")
    assert options.rotate_after_seconds == 100.0
    assert options.language == "de-DE"
    assert options.connection_limit_seconds == 600.0


def test_a_bad_value_names_the_provider_and_the_key() -> None:
    with pytest.raises(ValueError, match=r"^Invalid Example option: ") as caught:
        read_options({"max_open_attempts": "many"}, Options, "Example")
    said = str(caught.value)
    assert "litellm_params.max_open_attempts" in said
    assert "`$." not in said


def test_text_params() -> None:
    params: dict[str, object] = {"base": "  https://x  ", "blank": " ", "port": 443}
    assert text_param(params, "base") == "https://x"
    assert text_param(params, "absent") is None
    with pytest.raises(ValueError, match=r"litellm_params\.blank must be a non-empty string"):
        text_param(params, "blank")
    # A non-string is named by its type only: the value could be a secret.
    with pytest.raises(ValueError, match=r"litellm_params\.port must be .*, not int$"):
        text_param(params, "port")


def test_env_value_is_the_first_set_to_something(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_PARAMS_A", "  ")
    monkeypatch.delenv("KIT_PARAMS_B", raising=False)
    monkeypatch.setenv("KIT_PARAMS_C", " value ")
    assert env_value(["KIT_PARAMS_A", "KIT_PARAMS_B", "KIT_PARAMS_C"]) == "value"
    assert env_value(["KIT_PARAMS_A", "KIT_PARAMS_B"]) is None


KNOWN = frozenset({"api_key", "api_base", *Options.__struct_fields__})


def _warned(params: dict[str, object]) -> list[str]:
    return unknown_param_warnings(
        KNOWN,
        params,
        model_name="voice",
        provider="Example",
        backend="cloud",
        other_backend_keys={"project", "api_base"},
    )


def test_known_keys_are_not_warned() -> None:
    assert _warned({"api_key": "k", "api_base": "https://x", "rotate_after_seconds": 1}) == []


def test_a_litellm_only_key_is_named_as_such() -> None:
    assert "rpm" in LITELLM_ONLY
    assert _warned({"rpm": 10}) == [
        "model 'voice': litellm_params.rpm is a LiteLLM setting rtcore does not use; it is ignored"
    ]


def test_a_key_of_another_backend_is_named_as_such() -> None:
    assert _warned({"project": "p"}) == [
        "model 'voice': litellm_params.project is not used by the cloud backend; it is ignored"
    ]


def test_a_near_miss_gets_the_key_it_was_probably_meant_to_be() -> None:
    assert _warned({"rotate_after_secs": 1}) == [
        "model 'voice': litellm_params.rotate_after_secs is not an option of the Example "
        "provider and is ignored; did you mean rotate_after_seconds?"
    ]


def test_an_unknown_key_is_warned_without_a_guess_and_in_key_order() -> None:
    assert _warned({"frobnicate": 1, "api_kye": "k"}) == [
        "model 'voice': litellm_params.api_kye is not an option of the Example provider and "
        "is ignored; did you mean api_key?",
        "model 'voice': litellm_params.frobnicate is not an option of the Example provider "
        "and is ignored",
    ]


def test_a_providers_own_ignored_keys_replace_the_kits() -> None:
    warned = unknown_param_warnings(
        KNOWN,
        {"organization": "o", "rpm": 1},
        model_name="voice",
        provider="Example",
        litellm_only={"organization"},
    )
    assert warned == [
        "model 'voice': litellm_params.organization is a LiteLLM setting rtcore does not "
        "use; it is ignored",
        "model 'voice': litellm_params.rpm is not an option of the Example provider and is ignored",
    ]
