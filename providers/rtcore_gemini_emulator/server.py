"""The public emulator: ``async with GeminiLiveEmulator(...) as emu: ... emu.base_url``."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Self

from aiohttp import web

from rtcore_emulated_speech.script import Script
from rtcore_emulator_kit.certs import LocalCA, client_ssl_context, server_ssl_context
from rtcore_emulator_kit.served import Served, check_listening
from rtcore_emulator_kit.web import LoopbackSite

from . import session
from .faults import FaultQueue, parse
from .probe import AudioProbe
from .resumption import HandleStore
from .stats import Stats
from .tokens import TokenError, TokenIssuer

DEFAULT_CONNECTION_LIFETIME = 600.0  # ~10 min per connection (reference §7)
DEFAULT_GO_AWAY_NOTICE = 60.0  # goAway ~60 s before (reference §0.7)
DEFAULT_SESSION_LIFETIME = 900.0  # 15 min audio-only without compression (reference §7)
# google-genai only dials wss:// (it rewrites any base URL's scheme): TLS always, with a CA a
# client can be told to trust.
LOCAL_CA = LocalCA("gemini-emulator-certs", "rtcore Gemini Live emulator")


class GeminiLiveEmulator(Served):
    """A local Gemini Live ``BidiGenerateContent`` endpoint (the Gemini API and Vertex AI),
    and an OAuth 2 token endpoint for Vertex credentials, over one HTTPS port.

    ``realtime_factor`` paces model audio: 1.0 real time, 0.1 ten times faster, 0 unpaced.
    ``connection_lifetime``: seconds a connection lives before 1011 "Deadline expired...",
    with ``goAway`` ``go_away_notice`` seconds before. ``session_lifetime``: seconds a session
    lives across resumptions unless its setup asks for ``contextWindowCompression``.
    ``rejected_keys`` are API keys refused with 1007 "API key not valid..."; with
    ``api_keys`` only those are accepted. ``aliases`` serves further model ids as the known
    model each maps to. ``probe`` (an :class:`~.probe.AudioProbe`, for benchmarks) is told
    when each audio chunk came in and went out.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        cert_dir: str | os.PathLike[str] | None = None,
        realtime_factor: float = 1.0,
        connection_lifetime: float = DEFAULT_CONNECTION_LIFETIME,
        go_away_notice: float = DEFAULT_GO_AWAY_NOTICE,
        session_lifetime: float = DEFAULT_SESSION_LIFETIME,
        script: Script | None = None,
        faults: Iterable[str] = (),
        rejected_keys: Iterable[str] = (),
        api_keys: Iterable[str] | None = None,
        aliases: dict[str, str] | None = None,
        token_lifetime: float = 3600.0,
        probe: AudioProbe | None = None,
    ) -> None:
        check_listening(host, realtime_factor)
        always = list(faults)
        parse(always)
        self._site = LoopbackSite(host, port)
        self._certs = LOCAL_CA.ensure(cert_dir)
        self.script = script or Script()
        self.faults = FaultQueue()
        self.stats = Stats()
        self.tokens = TokenIssuer(lifetime=token_lifetime)
        self.handles = HandleStore()
        self.settings = session.Settings(
            realtime_factor=realtime_factor,
            connection_lifetime=connection_lifetime,
            go_away_notice=go_away_notice,
            session_lifetime=session_lifetime,
            script=self.script,
            faults=self.faults,
            tokens=self.tokens,
            handles=self.handles,
            always_faults=always,
            rejected_keys=set(rejected_keys),
            api_keys=None if api_keys is None else set(api_keys),
            aliases=dict(aliases or {}),
            probe=probe,
        )
        super().__init__(self.settings)

    @property
    def base_url(self) -> str:
        """``https://localhost:PORT``: google-genai's ``http_options.base_url``."""
        return f"https://localhost:{self.listening_port()}"

    @property
    def token_uri(self) -> str:
        """The OAuth 2 token endpoint (``POST``), for a credential's ``token_uri``."""
        return f"{self.base_url}/token"

    @property
    def ca_file(self) -> Path:
        """The PEM file of the local CA that signed the server certificate."""
        return self._certs.ca_file

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that trusts this emulator's CA only."""
        return client_ssl_context(self.ca_file)

    def inject(self, *specs: str, connections: int = 1) -> None:
        """Apply fault ``specs`` (e.g. ``"internal@2"``) to the next ``connections``
        connections."""
        self.faults.add(*specs, connections=connections)

    def retire(self, model_id: str) -> None:
        """Shut ``model_id`` down from now on: a new connection's setup for it is refused
        as for an id the service does not know (1008 "... is not found for API version
        ..."; Vertex: "Publisher Model ... was not found"), as Google answers for a model
        past its shutdown date; connections already open go on until they end."""
        self.settings.retired.add(model_id)

    def strike(self, spec: str) -> None:
        """The next model turn of any connection, open or to come, suffers ``spec`` (a
        fault name such as ``quota`` or ``internal``, no position) after its first output:
        a fault at a moment a test chooses, mid-conversation."""
        self.faults.strike(spec)

    def issue_access_token(self, lifetime: float | None = None) -> str:
        """An access token Vertex connections accept (as if from ``POST /token``)."""
        return self.tokens.issue_access_token(lifetime)[0]

    def authorized_user_info(self) -> dict[str, str]:
        """An ``authorized_user`` credentials file's contents whose ``token_uri`` is this
        emulator's ``/token``: google-auth refreshes it here for real."""
        return self.tokens.authorized_user_info(self.token_uri)

    def service_account_info(self) -> dict[str, str]:
        """A service account key file's contents (a fresh RSA key) whose ``token_uri`` is
        this emulator's ``/token``: google-auth's loaders take it as is and refresh here."""
        return self.tokens.service_account_info(self.token_uri)

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        try:
            body: dict[str, Any] = self.tokens.grant(form)
        except TokenError as error:
            return web.json_response(error.body(), status=400)
        self.stats.tokens_issued += 1
        return web.json_response(body)

    async def _live(self, request: web.Request) -> web.StreamResponse:
        return await session.handle(request, self.settings, self.stats)

    def drop_connections(self) -> int:
        """Cut every open connection as a network failure would (the TCP connection
        aborted, no close frame): a client sees 1006 and must reconnect. Returns how many
        were cut."""
        return self._site.drop_connections()

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_get("/ws/{method:.+}", self._site.holding(self._live))
        self.port = await self._site.start(app, server_ssl_context(self._certs))
        return self

    async def close(self) -> None:
        await self._site.close()
        self.port = 0
