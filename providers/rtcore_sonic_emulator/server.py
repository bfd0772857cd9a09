"""The public emulator: ``async with NovaSonicEmulator(...) as emu: ... emu.endpoint``."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Self

from rtcore_emulator_kit.certs import LocalCA, server_ssl_context
from rtcore_emulator_kit.served import Served, check_listening

from . import session
from .faults import FaultQueue
from .h2server import H2Server, H2Stream
from .probe import AudioProbe
from .script import Script
from .sigv4 import Issued

DEFAULT_CONNECTION_LIMIT = 480.0
# awscrt only speaks HTTP/2 over TLS: a CA a client can be told to trust.
LOCAL_CA = LocalCA("emulator-certs", "rtcore emulator")


class NovaSonicEmulator(Served):
    """A local Bedrock ``InvokeModelWithBidirectionalStream`` endpoint for Nova Sonic.

    ``realtime_factor`` paces assistant audio: 1.0 is real time, 0.1 ten times faster, 0 as
    fast as possible. ``connection_limit`` is how long a stream lives before
    ``ModelTimeoutException`` (Bedrock: about 8 minutes). ``endpoint_seconds`` overrides the
    silence that ends a user turn for every model and setting. ``probe`` (an
    :class:`~.probe.AudioProbe`, for benchmarks) is told when each audio chunk came in and
    went out. ``legacy_models`` serves retired models (Nova Sonic v1) as they were; by
    default their streams end without an event, as Bedrock's do since their end of life.
    ``aliases`` serves further model ids (a newer generation, an inference profile's ARN)
    as the known model each maps to.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cert_dir: str | os.PathLike[str] | None = None,
        realtime_factor: float = 1.0,
        connection_limit: float = DEFAULT_CONNECTION_LIMIT,
        endpoint_seconds: float | None = None,
        script: Script | None = None,
        faults: list[str] | None = None,
        max_concurrent_streams: int = 1000,
        probe: AudioProbe | None = None,
        legacy_models: bool = False,
        aliases: dict[str, str] | None = None,
    ) -> None:
        check_listening(host, realtime_factor)
        self._host = host
        self._port = port
        self._certs = LOCAL_CA.ensure(cert_dir)
        self.script = script or Script()
        self.faults = FaultQueue()
        self.stats = session.Stats()
        self._always = list(faults or [])
        self._settings = session.Settings(
            realtime_factor=realtime_factor,
            connection_limit=connection_limit,
            endpoint_seconds=endpoint_seconds,
            script=self.script,
            faults=self.faults,
            probe=probe,
            legacy_models=legacy_models,
            aliases=dict(aliases or {}),
        )
        super().__init__(self._settings)
        tls = server_ssl_context(self._certs)
        # awscrt negotiates HTTP/2 by ALPN and speaks nothing else.
        tls.set_alpn_protocols(["h2"])
        self._server = H2Server(
            self._handle,
            tls,
            max_concurrent_streams=max_concurrent_streams,
            on_connection=self._count_connection,
            on_disconnection=self._count_disconnection,
        )

    def issue(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        expires: datetime.datetime | None = None,
    ) -> None:
        """Credentials a test's stand-in (STS, IMDS, a container endpoint) handed out. Once
        any are issued, every stream must be signed with issued, unexpired credentials (the
        signature is checked, as Bedrock does); ``stats.signed_by`` lists the keys used."""
        self._settings.issued[access_key_id] = Issued(secret_access_key, session_token, expires)

    @property
    def endpoint(self) -> str:
        """The ``https://localhost:PORT`` URL to give the SDK as ``endpoint_uri``."""
        return f"https://localhost:{self.listening_port()}"

    @property
    def ca_file(self) -> Path:
        """The PEM file of the local CA that signed the server certificate."""
        return self._certs.ca_file

    @property
    def connection_limit(self) -> float:
        return self._settings.connection_limit

    @connection_limit.setter
    def connection_limit(self, value: float) -> None:
        self._settings.connection_limit = value

    def _count_connection(self) -> None:
        self.stats.connections += 1

    def _count_disconnection(self) -> None:
        self.stats.connections_closed += 1

    def inject(self, *specs: str, connections: int = 1) -> None:
        """Apply fault ``specs`` (e.g. ``"stream-error@2"``) to the next ``connections`` streams."""
        self.faults.add(*specs, connections=connections)

    def strike(self, spec: str) -> None:
        """The next reply of any stream, open or to come, suffers ``spec`` (a fault name
        such as ``throttle`` or ``stall``, no position) after its first audio chunk: a
        fault at a moment a test chooses, mid-conversation."""
        self.faults.strike(spec)

    async def _handle(self, stream: H2Stream) -> None:
        if self._always:
            stream.headers[session.FAULT_HEADER] = ",".join(
                [*self._always, stream.headers.get(session.FAULT_HEADER, "")]
            )
        await session.handle(stream, self._settings, self.stats)

    async def start(self) -> Self:
        _, self.port = await self._server.start(self._host, self._port)
        return self

    async def close(self) -> None:
        await self._server.close()
        self.port = 0
