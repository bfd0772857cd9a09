"""AWS access: region, credentials, endpoint and trust, resolved the way AWS users expect.

Only imported once a provider is built, because the SDK is slow to import.

Precedence: the model's ``params`` from the config file, then the environment, then the
shared config files (``aws configure``, ``AWS_PROFILE`` / ``aws_profile_name``), then the
container and instance-metadata credentials (``credentials.py`` has the whole order).
Secrets never reach a log line or a repr.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec
from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
from awscrt import io as crt_io
from awscrt.aio.http import AIOHttpClientConnectionUnified
from smithy_core import URI
from smithy_core import interfaces as smithy_interfaces
from smithy_core.exceptions import SmithyError, SmithyIdentityError
from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig

from rtcore.provider import ProviderUnavailable
from rtcore_bedrock_sonic import lanes
from rtcore_bedrock_sonic.credentials import Sources, credentials_for
from rtcore_bedrock_sonic.lanes import Lane
from rtcore_bedrock_sonic.regions import RegionError, check_region, configured_region

log = logging.getLogger(__name__)

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
    "Nova 2.5 Sonic runs in us-east-1, us-west-2, eu-north-1 and ap-northeast-1."
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


# Connections kept open for the next sessions: one is enough to hide the handshake from a
# session that opens alone; more would only hold sockets Bedrock closes when idle.
_SPARES = 2


class PooledCRTClient(AWSCRTHTTPClient):
    """The awscrt transport of one model's client: a connection per session (``lanes.py``)
    with a spare kept open, and, with ``ca_file``, trusting exactly that CA.

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
        self._spares: list[Any] = []
        self._lanes: set[Lane] = set()
        self._opening: asyncio.Future[None] | None = None
        self._url: smithy_interfaces.URI | None = None

    def __deepcopy__(self, memo: Any) -> PooledCRTClient:
        # The SDK copies its config per call; the stock transport's copy starts an empty
        # pool (and default trust), so every stream would open its own connection.
        return self

    # -- lanes.LanePool ---------------------------------------------------------------------

    def lane(self) -> Lane:
        lane = Lane()
        self._lanes.add(lane)
        return lane

    def release(self, lane: Lane) -> None:
        self._lanes.discard(lane)
        connection, lane.connection = lane.connection, None
        if connection is None or not connection.is_open():
            return
        if self._closed or len(self._spares) >= _SPARES:
            _close_later(connection)
        else:
            self._spares.append(connection)

    # -- the transport ------------------------------------------------------------------------

    async def _build_new_connection(self, url: smithy_interfaces.URI) -> Any:
        """The SDK's connect, with awscrt's connect future kept from cancellation.

        awscrt completes that future from its own thread and fails on a cancelled one
        (``InvalidStateError``, printed, the connection lost), and any connect in flight is
        cancelled when a session gives up on it or when the process stops (asyncio cancels
        every task left). Cancelled here, the caller stops waiting; the connection, when it
        comes, is closed."""
        if url.scheme not in ("http", "https"):
            return await super()._build_new_connection(url)
        tls = None
        if url.scheme == "https":
            tls = self._tls_ctx.new_connection_options()
            tls.set_server_name(url.host)
            tls.set_alpn_list(["h2", "http/1.1"])
        default_port = self._HTTPS_PORT if tls is not None else self._HTTP_PORT
        made = AIOHttpClientConnectionUnified._generic_new(
            url.host,
            url.port if url.port is not None else default_port,
            self._client_bootstrap,
            self._socket_options,
            tls,
            None,
            asyncio_connection=True,
        )
        connecting = asyncio.wrap_future(made)
        try:
            return await asyncio.shield(connecting)
        except asyncio.CancelledError:
            connecting.add_done_callback(_close_if_made)
            raise

    async def _get_connection(self, url: smithy_interfaces.URI) -> Any:
        lane = lanes.current()
        if lane is None:
            return await super()._get_connection(url)
        if lane.connection is not None and lane.connection.is_open():
            return lane.connection
        self._url = url
        lane.connection = self._take_spare() or await self._create_connection(url)
        self._keep_a_spare()
        return lane.connection

    def _take_spare(self) -> Any:
        while self._spares:
            connection = self._spares.pop()
            if connection.is_open():
                return connection
        return None

    def _keep_a_spare(self) -> None:
        if self._spares or self._closed or self._url is None:
            return
        if self._opening is None or self._opening.done():
            # Never cancelled: awscrt fails on a cancelled connect future.
            self._opening = asyncio.ensure_future(self._open_spare(self._url))
            self._opening.add_done_callback(_retrieve)

    async def _open_spare(self, url: smithy_interfaces.URI) -> None:
        connection = await self._create_connection(url)
        if self._closed:
            await connection.close()
        else:
            self._spares.append(connection)

    async def warm(self, endpoint: str) -> None:
        """Open a spare connection to ``endpoint`` now, so that the first session finds
        one (a later spare is opened behind each session that takes one)."""
        url = urlsplit(endpoint)
        self._url = URI(scheme=url.scheme or "https", host=url.hostname or "", port=url.port)
        if self._spares:
            return
        self._keep_a_spare()
        assert self._opening is not None
        await asyncio.shield(self._opening)

    async def close(self) -> None:
        spares = [*self._spares, *(lane.connection for lane in self._lanes if lane.connection)]
        self._spares.clear()
        await super().close()
        await asyncio.gather(*(c.close() for c in spares), return_exceptions=True)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.debug("opening a spare Bedrock connection failed: %s", future.exception())


def _close_if_made(connecting: asyncio.Future[Any]) -> None:
    if not connecting.cancelled() and connecting.exception() is None:
        _close_later(connecting.result())


def _close_later(connection: Any) -> None:
    task = asyncio.ensure_future(connection.close())
    task.add_done_callback(lambda t: t.cancelled() or t.exception())


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
