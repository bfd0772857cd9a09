"""Where a model's AWS credentials come from, in the order the AWS SDKs look:

1. the model's ``litellm_params`` keys (``aws_access_key_id`` / ``aws_secret_access_key``
   / ``aws_session_token``), or a web identity token there (``aws_web_identity_token``
   with ``aws_role_name``);
2. the environment: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` /
   ``AWS_SESSION_TOKEN``, then a web identity (``AWS_WEB_IDENTITY_TOKEN_FILE`` +
   ``AWS_ROLE_ARN``: EKS IRSA);
3. the shared config and credentials files and their profiles (``AWS_PROFILE`` /
   ``aws_profile_name``), a profile's ``role_arn`` (AssumeRole, aws-credentials-sts),
   ``credential_process``, an SSO profile (``sso_session`` or the legacy
   ``sso_start_url``: the role's credentials from the SSO portal with the token
   ``aws sso login`` cached);
4. container credentials (``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` /
   ``..._FULL_URI``: ECS task roles, EKS Pod Identity; aws-credentials-http);
5. EC2 instance metadata, IMDSv2 (aws-credentials-imds).

Steps 2-5 are the SDK's own identity chain, with the credential packages made for it
installed; web identity from the environment, SSO profiles (no package does them yet) and
LiteLLM's ``aws_role_name`` /
``aws_session_name`` (AssumeRole from whatever the chain finds) are this module's, on the
SDK's STS client. Temporary credentials are fetched again before they expire (the chain's
resolvers would keep them to the last second), and a Bedrock stream is retired before the
credentials it was signed with expire: a credential change breaks a live stream.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from smithy_aws_core.identity import AWSCredentialsIdentity, AWSIdentityProperties
from smithy_aws_core.identity.chain import IdentityChain
from smithy_aws_core.identity.static import StaticCredentialsResolver
from smithy_core.aio.interfaces.identity import IdentityResolver
from smithy_core.exceptions import SmithyIdentityError
from smithy_http.aio.crt import AWSCRTHTTPClient

from rtcore.logs import register_secrets

Resolver = IdentityResolver[AWSCredentialsIdentity, AWSIdentityProperties]

# Temporary credentials are fetched again this long before they expire (at most half
# their lifetime), and a stream signed with them is retired a little after that.
REFRESH_BEFORE_SECONDS = 300.0
RETIRE_BEFORE_SECONDS = 120.0


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class StsRole(Resolver):
    """Credentials of a role, from STS: ``AssumeRole`` signed with ``source``'s
    credentials, or ``AssumeRoleWithWebIdentity`` with a token (which needs none)."""

    def __init__(
        self,
        *,
        role_arn: str,
        session_name: str | None,
        region: str,
        endpoint: str | None,
        http_client: Any,
        source: Resolver | None = None,
        token: Callable[[], str] | None = None,
        external_id: str | None = None,
    ) -> None:
        self.role_arn = role_arn
        self._external_id = external_id
        self.session_name = session_name or f"rtcore-{uuid.uuid4().hex[:16]}"
        self._region = region
        self._endpoint = endpoint
        self._http = http_client
        self._source = source
        self._token = token
        self._client: Any = None

    async def get_identity(self, *, properties: AWSIdentityProperties) -> AWSCredentialsIdentity:
        from aws_sdk_sts.models import AssumeRoleInput, AssumeRoleWithWebIdentityInput

        client = await self._sts()
        if self._token is not None:
            token = self._token()
            response: Any = await client.assume_role_with_web_identity(
                AssumeRoleWithWebIdentityInput(
                    role_arn=self.role_arn,
                    role_session_name=self.session_name,
                    web_identity_token=token,
                )
            )
        else:
            response = await client.assume_role(
                AssumeRoleInput(
                    role_arn=self.role_arn,
                    role_session_name=self.session_name,
                    external_id=self._external_id,
                )
            )
        issued = response.credentials
        if issued is None:
            raise SmithyIdentityError(f"STS returned no credentials for {self.role_arn}")
        return AWSCredentialsIdentity(
            access_key_id=issued.access_key_id,
            secret_access_key=issued.secret_access_key,
            session_token=issued.session_token,
            expiration=issued.expiration,
        )

    async def _sts(self) -> Any:
        if self._client is None:
            from aws_sdk_sts.client import AsyncSTSClient
            from aws_sdk_sts.config import AsyncSTSConfig

            overrides: dict[str, Any] = {"region": self._region, "transport": self._http}
            if self._endpoint:
                overrides["endpoint_uri"] = self._endpoint
            overrides["aws_credentials_identity_resolver"] = self._source or _NoCredentials()
            if self._token is not None:
                # AssumeRoleWithWebIdentity is unsigned by its model, but the SDK's own
                # resolver (0.12) still picks SigV4 for it and asks for credentials.
                overrides["auth_scheme_resolver"] = _Unsigned()
            self._client = AsyncSTSClient(config=await AsyncSTSConfig.resolve(**overrides))
        return self._client


class SsoRole(Resolver):
    """An SSO profile's role credentials: ``GetRoleCredentials`` on the SSO portal with the
    access token ``aws sso login`` cached (``~/.aws/sso/cache``, named by the SHA-1 of the
    sso-session's name, or of the start URL for a legacy profile)."""

    def __init__(
        self, *, profile: str, cache_key: str, region: str, account_id: str, role_name: str
    ) -> None:
        self._profile = profile
        self._cache_key = cache_key
        self._account_id = account_id
        self._role_name = role_name
        self._endpoint = os.environ.get(
            "AWS_ENDPOINT_URL_SSO", f"https://portal.sso.{region}.amazonaws.com"
        )

    async def get_identity(self, *, properties: AWSIdentityProperties) -> AWSCredentialsIdentity:
        import aiohttp

        token = self._token()
        url = f"{self._endpoint.rstrip('/')}/federation/credentials"
        query = {"account_id": self._account_id, "role_name": self._role_name}
        headers = {"x-amz-sso_bearer_token": token}
        async with (
            aiohttp.ClientSession() as http,
            http.get(url, params=query, headers=headers) as response,
        ):
            if response.status != 200:
                raise SmithyIdentityError(
                    f"The SSO portal refused the role credentials of profile {self._profile!r} "
                    f"(HTTP {response.status}): run `aws sso login --profile {self._profile}`."
                )
            body = await response.json()
        issued = body.get("roleCredentials") or {}
        expiration = issued.get("expiration")
        return AWSCredentialsIdentity(
            access_key_id=issued["accessKeyId"],
            secret_access_key=issued["secretAccessKey"],
            session_token=issued.get("sessionToken"),
            expiration=(
                datetime.datetime.fromtimestamp(expiration / 1000, datetime.UTC)
                if isinstance(expiration, int | float)
                else None
            ),
        )

    def _token(self) -> str:
        import hashlib
        import json

        # The cache file is named by a SHA-1, as the AWS CLI names it (not for security).
        name = hashlib.sha1(self._cache_key.encode()).hexdigest()
        path = Path.home() / ".aws" / "sso" / "cache" / f"{name}.json"
        login = f"run `aws sso login --profile {self._profile}`"
        try:
            cached = json.loads(path.read_text())
            token, expires = cached["accessToken"], cached["expiresAt"]
        except (OSError, ValueError, KeyError):
            raise SmithyIdentityError(
                f"No SSO login for profile {self._profile!r}: {login}."
            ) from None
        when = datetime.datetime.fromisoformat(expires.replace("Z", "+00:00"))
        if when <= _now():
            raise SmithyIdentityError(
                f"The SSO login of profile {self._profile!r} has expired: {login}."
            )
        return str(token)


def sso_profile(config_file: Any, profile: str) -> SsoRole | None:
    """The profile's SSO role, if it is an SSO profile."""
    section = config_file.get_profile(profile) if config_file is not None else None
    if section is None:
        return None
    values = section.properties
    account, role_name = values.get("sso_account_id"), values.get("sso_role_name")
    if not account or not role_name:
        return None
    if session := values.get("sso_session"):
        sso = config_file.get_sso_session(str(session))
        region = sso.properties.get("sso_region") if sso is not None else None
        cache_key = str(session)
    elif start_url := values.get("sso_start_url"):
        region, cache_key = values.get("sso_region"), str(start_url)
    else:
        return None
    if not region:
        raise SmithyIdentityError(f"SSO profile {profile!r} names no sso_region.")
    return SsoRole(
        profile=profile,
        cache_key=cache_key,
        region=str(region),
        account_id=str(account),
        role_name=str(role_name),
    )


class _NoCredentials(Resolver):
    """For AssumeRoleWithWebIdentity, which is called unsigned."""

    async def get_identity(self, *, properties: AWSIdentityProperties) -> AWSCredentialsIdentity:
        raise SmithyIdentityError("no source credentials: this call is made unsigned")


class _Unsigned:
    def resolve_auth_scheme(self, auth_parameters: Any) -> list[Any]:
        return []


class Refreshing(Resolver):
    """The credentials ``build`` finds, kept until shortly before they expire, then found
    anew (with a fresh resolver, so that no inner cache holds them to the last second)."""

    def __init__(self, build: Callable[[], Awaitable[Resolver]]) -> None:
        self._build = build
        self._identity: AWSCredentialsIdentity | None = None
        self._refresh_at: datetime.datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def expiration(self) -> datetime.datetime | None:
        """When the credentials in use expire (None: they do not)."""
        return self._identity.expiration if self._identity is not None else None

    async def get_identity(self, *, properties: AWSIdentityProperties) -> AWSCredentialsIdentity:
        async with self._lock:
            if self._identity is None or (
                self._refresh_at is not None and _now() >= self._refresh_at
            ):
                resolver = await self._build()
                identity = await resolver.get_identity(properties=properties)
                # Whatever their source, these never reach a log line (the SDK's debug
                # logs print signed requests).
                register_secrets(
                    [identity.access_key_id, identity.secret_access_key, identity.session_token]
                )
                self._identity = identity
                self._refresh_at = _refresh_time(identity.expiration)
            return self._identity


def _refresh_time(expiration: datetime.datetime | None) -> datetime.datetime | None:
    if expiration is None:
        return None
    left = (expiration - _now()).total_seconds()
    return expiration - datetime.timedelta(seconds=min(REFRESH_BEFORE_SECONDS, left / 2))


def retire_before(expiration: datetime.datetime | None) -> float | None:
    """Seconds from now by which a stream signed with credentials expiring then must be
    gone (None: never), leaving time for fresh credentials and a new stream."""
    if expiration is None:
        return None
    left = (expiration - _now()).total_seconds()
    return max(0.0, left - min(RETIRE_BEFORE_SECONDS, left / 4))


class Sources(msgspec.Struct, frozen=True, kw_only=True):
    """What a model's params say about its credentials (``aws.settings_from``)."""

    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None
    role_arn: str | None = None
    session_name: str | None = None
    external_id: str | None = None
    web_identity_token: str | None = None
    sts_endpoint: str | None = None

    def __repr__(self) -> str:  # keys and tokens must never end up in a log line
        return (
            f"Sources(profile={self.profile!r}, static={self.access_key_id is not None}, "
            f"role={self.role_arn!r}, web_identity={self.web_identity_token is not None})"
        )


async def credentials_for(
    sources: Sources, *, region: str, config_file: Any, environ: dict[str, str] | None = None
) -> Refreshing:
    """The model's credentials resolver (see the module's docstring for the order)."""
    env = dict(os.environ) if environ is None else environ
    # STS, container and instance-metadata calls go out with the default trust store:
    # the model's ssl_ca_file is for its Bedrock endpoint only.
    http = AWSCRTHTTPClient()

    def role(
        arn: str, session: str | None, *, source: Resolver | None = None, token: Any = None
    ) -> StsRole:
        return StsRole(
            role_arn=arn,
            session_name=session,
            region=region,
            endpoint=sources.sts_endpoint,
            http_client=http,
            source=source,
            token=token,
            external_id=sources.external_id if source is not None else None,
        )

    async def found() -> Resolver:
        if (static := _static_keys(sources)) is not None:
            base: Resolver = static
        elif sources.web_identity_token and sources.role_arn:
            token = sources.web_identity_token
            # LiteLLM's aws_web_identity_token: the token; its role is aws_role_name.
            return role(sources.role_arn, sources.session_name, token=lambda: token)
        elif not sources.profile and not env.get("AWS_ACCESS_KEY_ID") and _web_identity_env(env):
            token_file = Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"])
            base = role(
                env["AWS_ROLE_ARN"],
                env.get("AWS_ROLE_SESSION_NAME"),
                # Read at every fetch: the kubelet rotates the projected token.
                token=lambda: token_file.read_text().strip(),
            )
        elif not env.get("AWS_ACCESS_KEY_ID") and (
            sso := sso_profile(config_file, sources.profile or env.get("AWS_PROFILE") or "default")
        ):
            base = sso
        else:
            base = await IdentityChain.create(
                AWSCredentialsIdentity,
                config_file=config_file,
                profile_name=sources.profile,
                region_override=region,
                http_client=http,
            )
        if sources.role_arn:
            # LiteLLM's aws_role_name: that role, assumed with what was found above.
            return role(sources.role_arn, sources.session_name, source=base)
        return base

    return Refreshing(found)


def _static_keys(sources: Sources) -> Resolver | None:
    """The keys the model's params name, when they name both halves of one."""
    if not (sources.access_key_id and sources.secret_access_key):
        return None
    return StaticCredentialsResolver(
        AWSCredentialsIdentity(
            access_key_id=sources.access_key_id,
            secret_access_key=sources.secret_access_key,
            session_token=sources.session_token,
        )
    )


def _web_identity_env(env: dict[str, str]) -> bool:
    return bool(env.get("AWS_WEB_IDENTITY_TOKEN_FILE")) and bool(env.get("AWS_ROLE_ARN"))
