"""Which ``litellm_params`` keys the provider reads, so that none is ignored unheard: a
misspelt key gets a WARNING with the key it was probably meant to be, and a LiteLLM key
rtcore has no use for is named as ignored."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

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

# LiteLLM settings that mean something to LiteLLM's router or billing, nothing here.
LITELLM_ONLY = frozenset(
    {
        "rpm", "tpm", "timeout", "stream_timeout", "max_retries", "api_key",
        "api_version", "organization", "input_cost_per_second", "output_cost_per_second",
        "input_cost_per_token", "output_cost_per_token", "mock_response", "tags",
        "max_parallel_requests", "weight", "order", "custom_llm_provider",
    }
)  # fmt: skip

KNOWN = AWS_PARAMS | frozenset(SessionOptions.__struct_fields__)


def param_warnings(model_name: str, params: Mapping[str, object]) -> Iterable[str]:
    for key in sorted(params):
        if key in KNOWN:
            continue
        where = f"model {model_name!r}: litellm_params.{key}"
        if key in LITELLM_ONLY:
            yield f"{where} is a LiteLLM setting rtcore does not use; it is ignored"
            continue
        close = difflib.get_close_matches(key, sorted(KNOWN), n=1, cutoff=0.75)
        hint = f"; did you mean {close[0]}?" if close else ""
        yield f"{where} is not an option of the Bedrock provider and is ignored{hint}"
