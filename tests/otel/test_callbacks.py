"""Logging callbacks as a config names them and plugins register them
(``rtcore_register_callbacks``)."""

from __future__ import annotations

import logging

import pytest

from rtcore import hookimpl
from rtcore.callbacks import CallbackSpec
from rtcore.config.errors import ConfigError
from rtcore.config.sections import litellm_settings
from rtcore.plugins import DuplicateName, load_plugins
from rtcore_otel.plugin import _open


def test_every_spelling_names_callbacks_once_and_prometheus_is_the_core_s(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        settings = litellm_settings(
            {
                "callbacks": ["prometheus", "otel"],
                "success_callback": ["langfuse", "otel"],
                "failure_callback": "s3",
            },
            "config.yaml",
        )
    assert settings.callbacks == ("otel", "langfuse", "s3")
    assert caplog.records == []  # none of them is an unapplied key


@pytest.mark.parametrize("value", [{"otel": True}, ["otel", 3], 7])
def test_a_callback_list_of_another_shape_is_refused(value: object) -> None:
    with pytest.raises(ConfigError, match=r"litellm_settings\.callbacks: expected a list"):
        litellm_settings({"callbacks": value}, "config.yaml")


def test_the_otel_plugin_registers_through_its_entry_point() -> None:
    host = load_plugins()
    assert host.callbacks()["otel"].open is _open
    assert host.registrations()["otel"] == {"callbacks": ["otel"]}


def test_two_plugins_serving_one_callback_name_are_refused() -> None:
    class Another:
        @hookimpl
        def rtcore_register_callbacks(self) -> list[CallbackSpec]:
            return [CallbackSpec(name="otel", open=_open)]

    host = load_plugins(extra_plugins=[("another", Another())])
    with pytest.raises(DuplicateName, match="two plugins register a callback named 'otel'"):
        host.callbacks()
