"""Client-side helpers: an awscrt transport that trusts the emulator's CA, and a ready SDK client.

awscrt ignores ``AWS_CA_BUNDLE`` and reads ``SSL_CERT_FILE`` only when its default TLS context is
built, which is process-wide. Overriding the trust store on the transport's own TLS context
scopes trust to one client and leaves the process environment alone.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from smithy_http.aio.crt import AWSCRTHTTPClient


def make_trusting_transport(ca_file: str | os.PathLike[str]) -> AWSCRTHTTPClient:
    """An HTTP/2 awscrt transport that trusts only ``ca_file`` (e.g. ``emulator.ca_file``)."""
    from awscrt import io as crt_io
    from smithy_http.aio.crt import AWSCRTHTTPClient, AWSCRTHTTPClientConfig

    path = os.fspath(ca_file)

    class _TrustingTransport(AWSCRTHTTPClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            options = crt_io.TlsContextOptions()
            options.override_default_trust_store_from_path(ca_filepath=path)
            self._tls_ctx = crt_io.ClientTlsContext(options)

        # The SDK deep-copies its config per call; the base class would copy back to a plain
        # transport that trusts the system store only.
        def __deepcopy__(self, memo: Any) -> _TrustingTransport:
            return _TrustingTransport(eventloop=self._eventloop, client_config=self._config)

    return _TrustingTransport(client_config=AWSCRTHTTPClientConfig(force_http_2=True))


async def make_client(
    endpoint: str,
    ca_file: str | os.PathLike[str],
    *,
    region: str = "us-east-1",
    transport: AWSCRTHTTPClient | None = None,
) -> Any:
    """An ``AsyncBedrockRuntimeClient`` for the emulator, signing with static dummy credentials."""
    from aws_sdk_bedrock_runtime.client import AsyncBedrockRuntimeClient
    from aws_sdk_bedrock_runtime.config import AsyncBedrockRuntimeConfig
    from smithy_aws_core.identity import AWSCredentialsIdentity
    from smithy_aws_core.identity.static import StaticCredentialsResolver

    identity = AWSCredentialsIdentity(
        access_key_id="AKIDEMULATOR", secret_access_key="emulator-secret"
    )
    config = await AsyncBedrockRuntimeConfig.resolve(
        region=region,
        endpoint_uri=endpoint,
        transport=transport or make_trusting_transport(ca_file),
        aws_credentials_identity_resolver=StaticCredentialsResolver(identity),
    )
    return AsyncBedrockRuntimeClient(config=config)
