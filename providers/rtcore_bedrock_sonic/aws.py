"""AWS access: region, credentials, endpoint and trust, resolved the way AWS users expect.

Only imported once a provider is built, because the SDK is slow to import.

Precedence: the model's ``params`` from the config file, then the environment, then the
shared config files (``aws configure``, ``AWS_PROFILE`` / ``aws_profile_name``), then the
container and instance-metadata credentials (``credentials.py`` has the whole order).
Secrets never reach a log line or a repr.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
from awscrt import io as crt_io
from smithy_core import URI
from smithy_core.exceptions import SmithyError, SmithyIdentityError
from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig

from rtcore.provider import ProviderUnavailable
from rtcore_bedrock_sonic.credentials import Sources, credentials_for
from rtcore_bedrock_sonic.regions import RegionError, check_region, configured_region

CREDENTIALS_HELP = (
    "Set AWS credentials: aws_access_key_id / aws_secret_access_key in the model's "
    "litellm_params, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in "
    "the environment, or a profile (`aws configure`, AWS_PROFILE or aws_profile_name), or a "
    "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), or run where a container "
    "(ECS, EKS Pod Identity) or instance role is available; aws_role_name assumes a role "
    "with any of these."
)

NO_REGION = (
    "No AWS region configured: set aws_region_name in the model's litellm_params, or "
    "AWS_REGION (or AWS_DEFAULT_REGION / AWS_REGION_NAME), or a region in your AWS profile. "
    "Nova Sonic runs in us-east-1, eu-north-1 and ap-northeast-1."
)


class AwsSettings(msgspec.Struct, frozen=True, kw_only=True):
    region: str | None = None
    endpoint: str | None = None
    credentials: Sources = Sources()
    ca_file: str | None = None
    credentials_timeout: float = 10.0

    def __repr__(self) -> str:  # keys must never end up in a log line
        return (
            f"AwsSettings(region={self.region!r}, endpoint={self.endpoint!r}, "
            f"credentials={self.credentials!r}, ca_file={self.ca_file!r})"
        )


def _str(params: Mapping[str, object], *names: str) -> str | None:
    for name in names:
        value = params.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def settings_from(
    params: Mapping[str, object], environ: Mapping[str, str] | None = None
) -> AwsSettings:
    region, _ = configured_region(params, environ)
    access_key = _str(params, "aws_access_key_id")
    secret_key = _str(params, "aws_secret_access_key")
    if (access_key is None) != (secret_key is None):
        raise ProviderUnavailable(
            "Set both aws_access_key_id and aws_secret_access_key (only one is configured).",
            code="invalid_credentials",
        )
    timeout = params.get("credentials_timeout_seconds")
    return AwsSettings(
        region=region,
        endpoint=_str(params, "aws_bedrock_runtime_endpoint", "api_base"),
        credentials=Sources(
            profile=_str(params, "aws_profile_name"),
            access_key_id=access_key,
            secret_access_key=secret_key,
            session_token=_str(params, "aws_session_token"),
            role_arn=_str(params, "aws_role_name"),
            session_name=_str(params, "aws_session_name"),
            external_id=_str(params, "aws_external_id"),
            web_identity_token=_str(params, "aws_web_identity_token"),
            sts_endpoint=_str(params, "aws_sts_endpoint"),
        ),
        ca_file=_str(params, "ssl_ca_file", "aws_ca_bundle"),
        credentials_timeout=float(timeout) if isinstance(timeout, int | float | str) else 10.0,
    )


class PooledCRTClient(AWSCRTHTTPClient):
    """The awscrt transport, one connection pool per model's client, and, with ``ca_file``,
    trusting exactly that CA.

    Trust is a property of this client only: the process environment (SSL_CERT_FILE and
    friends) is left alone, so other clients in the process keep their own trust.
    """

    def __init__(
        self, ca_file: str | None = None, client_config: AWSCRTHTTPClientConfig | None = None
    ) -> None:
        super().__init__(client_config=client_config)
        if ca_file:
            options = crt_io.TlsContextOptions()
            options.override_default_trust_store_from_path(ca_filepath=ca_file)
            self._tls_ctx = crt_io.ClientTlsContext(options)
        self._ca_file = ca_file

    def __deepcopy__(self, memo: Any) -> PooledCRTClient:
        # The SDK copies its config per call; the stock transport's copy starts an empty
        # pool (and default trust), so every stream would open its own connection.
        return self

    async def warm(self, endpoint: str) -> None:
        """Open the pooled connection to ``endpoint`` now. Sessions opened together on a
        cold pool each open their own connection (the pool has no lock); after this they
        share one HTTP/2 connection."""
        url = urlsplit(endpoint)
        await self._get_connection(
            URI(scheme=url.scheme or "https", host=url.hostname or "", port=url.port)
        )


def make_transport(ca_file: str | None) -> PooledCRTClient:
    # aiohttp (the SDK default) cannot do duplex streams; awscrt speaks HTTP/2.
    if ca_file and not os.path.isfile(ca_file):
        raise ProviderUnavailable(
            f"The CA file {ca_file!r} (ssl_ca_file) does not exist.", code="invalid_config"
        )
    return PooledCRTClient(ca_file)


def endpoint_of(settings: AwsSettings, region: str) -> str:
    return settings.endpoint or f"https://bedrock-runtime.{region}.amazonaws.com"


async def build_client(
    settings: AwsSettings,
) -> tuple[AsyncBedrockRuntimeClient, AsyncBedrockRuntimeConfig]:
    """A client with credentials already resolved (see ``check_credentials``)."""
    overrides: dict[str, Any] = {"transport": make_transport(settings.ca_file)}
    if settings.region:
        overrides["region"] = settings.region
    if settings.endpoint:
        overrides["endpoint_uri"] = settings.endpoint
    try:
        profile = settings.credentials.profile
        config = await AsyncBedrockRuntimeConfig.resolve(profile=profile, **overrides)
    except (SmithyError, ValueError, KeyError) as exc:
        if "region" in str(exc).lower():
            raise ProviderUnavailable(NO_REGION, code="missing_region") from exc
        raise ProviderUnavailable(
            f"AWS configuration error: {exc}. Check aws_profile_name / AWS_PROFILE and "
            "~/.aws/config.",
            code="invalid_config",
        ) from exc
    if not config.region:
        raise ProviderUnavailable(NO_REGION, code="missing_region")
    if settings.region is None:
        # The region came from the AWS profile: checked now that it is known.
        try:
            where = f"profile {settings.credentials.profile or 'default'}"
            check_region(str(config.region), where)
        except RegionError as exc:
            raise ProviderUnavailable(str(exc), code="invalid_region") from None
    # Built here, not lazily by the client, so it can be checked with a timeout before a
    # stream is opened (the SDK's duplex call hangs when it finds nothing).
    context = config.resolution_context()
    config_file = await context.parsed_profiles() if context is not None else None
    config.aws_credentials_identity_resolver = await credentials_for(
        settings.credentials, region=str(config.region), config_file=config_file
    )
    return AsyncBedrockRuntimeClient(config=config), config


async def check_credentials(config: AsyncBedrockRuntimeConfig, limit: float) -> None:
    """Raise ``ProviderUnavailable`` saying what to set when no credentials resolve."""
    resolver = config.aws_credentials_identity_resolver
    if resolver is None:
        raise ProviderUnavailable(
            f"No AWS credentials found. {CREDENTIALS_HELP}", code="missing_credentials"
        )
    try:
        async with asyncio.timeout(limit):
            await resolver.get_identity(properties={})
    except TimeoutError as exc:
        raise ProviderUnavailable(
            f"Timed out looking for AWS credentials after {limit:g} s. {CREDENTIALS_HELP}",
            code="missing_credentials",
        ) from exc
    except SmithyIdentityError as exc:
        # The identity resolvers' own words say which source failed and how to fix it
        # (they carry no secrets: "run `aws sso login`", "no credentials configured").
        raise ProviderUnavailable(
            f"No usable AWS credentials found: {exc} {CREDENTIALS_HELP}",
            code="missing_credentials",
        ) from exc
    except (SmithyError, OSError, ValueError) as exc:
        raise ProviderUnavailable(
            f"No usable AWS credentials found ({type(exc).__name__}). {CREDENTIALS_HELP}",
            code="missing_credentials",
        ) from exc
