"""Which ``litellm_params`` keys the provider reads, so that none is ignored unheard: a
misspelt key gets a WARNING with the key it was probably meant to be, and a LiteLLM key
rtcore has no use for is named as ignored."""

from __future__ import annotations

from collections.abc import Mapping

from rtcore.kit import LITELLM_ONLY, unknown_param_warnings
from rtcore_bedrock_sonic.options import SessionOptions

AWS_PARAMS = frozenset(
    {
        "aws_region_name", "region_name", "aws_region",
        "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
        "aws_profile_name", "aws_role_name", "aws_session_name", "aws_external_id",
        "aws_web_identity_token", "aws_sts_endpoint", "aws_bedrock_runtime_endpoint", "api_base",
        "ssl_ca_file", "aws_ca_bundle",
        "credentials_timeout_seconds",
    }
)  # fmt: skip

# LiteLLM's connection settings of other providers' models mean nothing here either.
IGNORED = LITELLM_ONLY | {"api_key", "api_version", "organization"}

KNOWN = AWS_PARAMS | frozenset(SessionOptions.__struct_fields__)


def param_warnings(model_name: str, params: Mapping[str, object]) -> list[str]:
    return unknown_param_warnings(
        KNOWN, params, model_name=model_name, provider="Bedrock", litellm_only=IGNORED
    )
