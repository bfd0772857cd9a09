"""The public emulator: ``async with OpenAIRealtimeEmulator(...) as emu: ... emu.ws_base_url``."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from aiohttp import web

from rtcore_emulated_speech.script import Script
from rtcore_emulator_kit.certs import LocalCA, client_ssl_context, server_ssl_context
from rtcore_emulator_kit.served import Served, check_listening
from rtcore_emulator_kit.web import LoopbackSite

from . import connection
from .faults import FaultQueue, parse
from .probe import AudioProbe
from .stats import Stats

DEFAULT_SESSION_CAP = 3600.0  # OpenAI's 60 minutes (reference §3.7)
DEFAULT_PING_INTERVAL = 20.0  # the live service's WebSocket pings, ~20.3 s (reference §3.7)
# TLS is optional (the openai SDK dials ws:// too): the CA is made only for tls=True.
LOCAL_CA = LocalCA("openai-emulator-certs", "rtcore OpenAI Realtime emulator")


class OpenAIRealtimeEmulator(Served):
    """A local OpenAI Realtime endpoint for three vendors, told apart by path: OpenAI
    (``/v1/realtime``), Azure OpenAI (``/openai/v1/realtime``, the preview
    ``/openai/realtime``) and xAI (``/xai/v1/realtime``, or ``/v1/realtime`` with a
    ``grok-voice-*`` model).

    ``realtime_factor`` paces model audio: 1.0 real time, 0.1 ten times faster, 0 unpaced.
    ``session_cap``: seconds before ``error session_expired`` and a close. ``rejected_keys``
    are refused; with ``api_keys`` only those are accepted. ``deployments`` maps Azure
    deployment names to the models they deploy (a deployment named after an Azure realtime
    model needs no entry). ``tls`` serves ``wss://`` with a local CA kept in ``cert_dir``.
    ``probe`` (an :class:`~.probe.AudioProbe`, for benchmarks) is told when each audio chunk
    came in and went out.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cert_dir: str | os.PathLike[str] | None = None,
        tls: bool = False,
        realtime_factor: float = 1.0,
        session_cap: float = DEFAULT_SESSION_CAP,
        ping_interval: float = DEFAULT_PING_INTERVAL,
        script: Script | None = None,
        faults: Iterable[str] = (),
        api_keys: Iterable[str] | None = None,
        rejected_keys: Iterable[str] = (),
        deployments: dict[str, str] | None = None,
        probe: AudioProbe | None = None,
    ) -> None:
        check_listening(host, realtime_factor)
        if session_cap <= 0:
            raise ValueError("session_cap must be > 0")
        always = list(faults)
        parse(always)
        self._host = host
        self._site = LoopbackSite(host, port)
        self._tls = tls
        self._cert_dir = cert_dir
        self._ca_file: Path | None = None
        self.script = script or Script()
        self.faults = FaultQueue()
        self.stats = Stats()
        self.settings = connection.Settings(
            realtime_factor=realtime_factor,
            session_cap=session_cap,
            ping_interval=ping_interval,
            script=self.script,
            faults=self.faults,
            always_faults=always,
            api_keys=None if api_keys is None else set(api_keys),
            rejected_keys=set(rejected_keys),
            deployments=dict(deployments or {}),
            probe=probe,
        )
        super().__init__(self.settings)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://localhost:PORT`` with TLS)."""
        port = self.listening_port()
        if self._tls:
            return f"https://localhost:{port}"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{port}"

    @property
    def ws_base_url(self) -> str:
        """``ws://127.0.0.1:PORT`` (``wss://`` with TLS): add ``/v1`` for the openai SDK's
        ``websocket_base_url``, ``/openai`` for Azure's, ``/xai/v1`` for xAI."""
        return "ws" + self.base_url.removeprefix("http")

    def url_for(self, vendor: str) -> str:
        """The ``api_base`` of a vendor profile: OpenAI ``…/v1``, Azure the resource
        endpoint (``…``, the client adds ``/openai/…``), xAI ``…/xai/v1``."""
        suffix = {"openai": "/v1", "azure": "", "xai": "/xai/v1"}[vendor]
        return self.base_url + suffix

    @property
    def ca_file(self) -> Path | None:
        """The PEM file of the local CA when serving TLS."""
        return self._ca_file

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this emulator's CA only."""
        if self._ca_file is None:
            raise RuntimeError("the emulator serves plain ws:// (tls=False)")
        return client_ssl_context(self._ca_file)

    @property
    def session_cap(self) -> float:
        return self.settings.session_cap

    @session_cap.setter
    def session_cap(self, value: float) -> None:
        self.settings.session_cap = value

    def add_deployment(self, name: str, model: str = "gpt-realtime") -> None:
        self.settings.deployments[name] = model

    def inject(self, *specs: str, connections: int = 1) -> None:
        """Apply fault ``specs`` (e.g. ``"server-error@2"``) to the next ``connections``
        connections."""
        self.faults.add(*specs, connections=connections)

    def strike(self, spec: str) -> None:
        """The next response of any connection, open or to come, suffers ``spec`` (a
        fault name such as ``stall`` or ``close=1011``, no position) after its first
        output: a fault at a moment a test chooses, mid-conversation."""
        self.faults.strike(spec)

    def drop_connections(self) -> int:
        """Cut every open connection as a network failure would (the TCP connection
        aborted, no close frame): a client sees 1006. Returns how many were cut."""
        return self._site.drop_connections()

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        return await connection.handle(request, self.settings, self.stats)

    async def start(self) -> Self:
        app = web.Application()
        for path in ("/v1/realtime", "/openai/v1/realtime", "/openai/realtime", "/xai/v1/realtime"):
            app.router.add_get(path, self._site.holding(self._realtime))
        context = None
        if self._tls:
            files = LOCAL_CA.ensure(self._cert_dir)
            self._ca_file = files.ca_file
            context = server_ssl_context(files)
        self.port = await self._site.start(app, context)
        return self

    async def close(self) -> None:
        await self._site.close()
        self.port = 0
