"""Vertex AI credentials from a file: the project it names, its secrets kept out of the
logs, and each failure as the provider's error."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rtcore.logs import RedactingFormatter, configure_logging
from rtcore.provider import ProviderUnavailable
from rtcore_emulator_kit.certs import LocalCA
from rtcore_gemini_emulator import GeminiLiveEmulator
from rtcore_gemini_live.client import load_credentials
from rtcore_gemini_live.provider import GeminiProvider


@pytest.fixture
def formatter() -> Iterator[RedactingFormatter]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield configure_logging("info", stream=io.StringIO())
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_project_and_token_uri_a_file_names(emulator: GeminiLiveEmulator) -> None:
    _, project = load_credentials(json.dumps(emulator.service_account_info()))
    assert project == "emulator-project"
    user = emulator.authorized_user_info() | {"quota_project_id": "quota-project"}
    creds, project = load_credentials(json.dumps(user))
    assert project == "quota-project"
    assert creds.token_uri == emulator.token_uri  # type: ignore[attr-defined]


async def test_secrets_are_registered_for_masking(
    make_provider: Callable[..., GeminiProvider],
    emulator: GeminiLiveEmulator,
    formatter: RedactingFormatter,
) -> None:
    key = emulator.service_account_info()
    user = emulator.authorized_user_info()
    await make_provider("vertex", vertex_credentials=json.dumps(key)).warm_up()
    provider = make_provider("vertex", vertex_credentials=json.dumps(user))
    await provider.warm_up()
    token = provider._client.credentials.token  # type: ignore[union-attr]
    secrets = formatter.secrets()
    for secret in (key["private_key"], user["client_secret"], user["refresh_token"], token):
        assert secret in secrets


@pytest.mark.parametrize(
    ("credentials", "says"),
    [
        ('{"type": "api_key"}', "must be a service_account or authorized_user"),
        ('{"type": "authorized_user"}', "cannot be loaded: Authorized user info was not in"),
        ("{not json", "is not a JSON credentials file"),
        (
            '{"type": "authorized_user", "client_id": "a", "client_secret": "b", '
            '"refresh_token": "c", "expiry": 5}',
            "cannot be loaded",
        ),
    ],
)
async def test_a_file_that_cannot_be_loaded_is_a_config_error(
    make_provider: Callable[..., GeminiProvider], credentials: str, says: str
) -> None:
    with pytest.raises(ProviderUnavailable) as refused:
        await make_provider("vertex", vertex_credentials=credentials).warm_up()
    assert refused.value.code == "invalid_config"
    assert "litellm_params.vertex_credentials" in refused.value.message
    assert says in refused.value.message


async def test_a_refused_refresh_token(
    make_provider: Callable[..., GeminiProvider], emulator: GeminiLiveEmulator
) -> None:
    user = emulator.authorized_user_info() | {"refresh_token": "1//not-issued"}
    with pytest.raises(ProviderUnavailable) as refused:
        await make_provider("vertex", vertex_credentials=json.dumps(user)).warm_up()
    assert refused.value.code == "invalid_credentials"


async def test_the_models_trust_is_not_the_environments(
    make_provider: Callable[..., GeminiProvider],
    emulator: GeminiLiveEmulator,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The environment trusts the emulator; the model trusts another CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emulator.ca_file))
    other = LocalCA("unused", "rtcore other").ensure(tmp_path).ca_file
    with pytest.raises(ProviderUnavailable) as refused:
        await make_provider("vertex", ssl_ca_file=str(other)).warm_up()
    assert refused.value.code == "connection_error"
    assert emulator.stats.tokens_issued == 0
