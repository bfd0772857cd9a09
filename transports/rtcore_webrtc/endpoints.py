"""``POST /v1/realtime/calls`` and hang-up, as OpenAI's WebRTC endpoint has them.

The offer comes as ``application/sdp`` (the session configured later on the events
channel), or as a form (``multipart/form-data``, as browsers and the SDKs send it, or
urlencoded) with an ``sdp`` field and a ``session`` JSON field (the GA API's way to
configure it up front). The answer is 201 with the SDP answer and a
``Location`` naming the call; ``DELETE`` on it, or ``POST .../hangup``, ends the call.
An offer without a DTLS fingerprint that can be checked is refused before anything is set
up, and so is a call past ``--max-calls``.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import json
import logging
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rtcore.dialect import Dialect
from rtcore.gateway import Gateway, UnknownModel
from rtcore.http import HttpRequest, HttpResponse, HttpRoute, error_response, json_response
from rtcore.json_body import json_object
from rtcore.keys.errors import Refusal
from rtcore.provider import ModelConfig
from rtcore.serve_settings import ServeSettings
from rtcore_webrtc.reclaim import Reclaimer

if TYPE_CHECKING:
    from rtcore_webrtc.calls import Call

log = logging.getLogger(__name__)

CALLS_PATHS = ("/v1/realtime/calls", "/realtime/calls")
# A slot frees when any call ends, which nobody can foresee: a hint for a client that
# retries on its own, not a promise.
RETRY_AFTER_SECONDS = 5


def _refused(refusal: Refusal) -> HttpResponse:
    return error_response(
        refusal.status, refusal.code, refusal.message, param=refusal.param, kind=refusal.type
    )


def bearer(request: HttpRequest) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.headers.get("api-key") or None


def _text(data: bytes, what: str, param: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "invalid_offer", f"{what} is not UTF-8.", param=param) from None


def _parts(request: HttpRequest) -> tuple[str | None, str | None]:
    """The offer's SDP and its ``session`` JSON (None when absent), or ``Refusal``."""
    if request.content_type == "application/sdp":
        return _text(request.body, "The offer", None), None
    if request.content_type == "application/x-www-form-urlencoded":
        form = _text(request.body, "The form", None)
        try:
            fields = urllib.parse.parse_qs(form, errors="strict")
        except UnicodeDecodeError:
            raise Refusal(400, "invalid_offer", "The form's fields are not UTF-8.") from None
        sdps, sessions = fields.get("sdp", []), fields.get("session", [])
        return (sdps[0] if sdps else None), (sessions[0] if sessions else None)
    if request.content_type == "multipart/form-data":
        head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
        sdp = session = None
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if name not in ("sdp", "session") or not isinstance(payload, bytes):
                continue
            text = _text(payload, f"The {name} part", None if name == "sdp" else "session")
            if name == "sdp":
                sdp = text
            else:
                session = text
        return sdp, session
    return None, None


def _first_update(session: str) -> tuple[str | None, dict[str, Any], str | None, Dialect]:
    """The ``session`` part as the session's first ``session.update``, the session object
    it carries, and its model; or ``Refusal``."""
    config = json_object(session.encode(), param="session", what="The session part")
    model = config.pop("model", None)
    if model is not None and not isinstance(model, str):
        raise Refusal(
            400,
            "invalid_value",
            "session.model must be the name of a served model.",
            param="session.model",
        )
    dialect = Dialect.GA if "type" in config else Dialect.BETA
    update = json.dumps({"type": "session.update", "session": config}) if config else None
    return update, config, model, dialect


def load_media(host: str) -> None:
    """WebRTC's media stack (aiortc, PyAV, pylibsrtp, aioice), imported and set up for a
    server bound to ``host``: on the first call, so that a server no one calls never
    loads it (tens of MB of its memory, and its start-up)."""
    from rtcore_webrtc import calls, codecs, ice, offer, reclaim

    reclaim.hold_thresholds()  # before the stack's threads and buffers come and go
    ice.gather_on(host)
    codecs.install()
    del calls, offer  # imported here, off the event loop; used where needed


class Calls:
    def __init__(self, gateway: Gateway, settings: ServeSettings, *, max_calls: int) -> None:
        self.gateway = gateway
        self.settings = settings
        self.max_calls = max_calls
        # Answered calls, until their peer connection is closed and their resources freed.
        self.live: dict[str, Call] = {}
        # Offers being answered: they hold a slot too.
        self._answering = 0
        # Refusing for the cap since the last call ended (logged once per such spell).
        self._refusing = False
        self.reclaimer = Reclaimer()
        self._media: asyncio.Task[None] | None = None

    def routes(self) -> Sequence[HttpRoute]:
        routes = []
        for path in CALLS_PATHS:
            routes.append(HttpRoute(method="POST", path=path, handle=self.create))
            routes.append(HttpRoute(method="DELETE", path=path + "/{call_id}", handle=self.end))
            routes.append(
                HttpRoute(method="POST", path=path + "/{call_id}/hangup", handle=self.end)
            )
        return routes

    async def create(self, request: HttpRequest) -> HttpResponse:
        gateway = self.gateway
        if gateway.draining:
            return error_response(
                503, "server_shutting_down", "The server is shutting down; call again."
            )
        key = bearer(request)
        try:
            await gateway.caller(key)
        except Refusal as refusal:
            return _refused(refusal)
        initial, config, wanted, dialect = None, None, None, None
        try:
            sdp, session = _parts(request)
            if session is not None:
                initial, config, wanted, dialect = _first_update(session)
        except Refusal as refusal:
            return _refused(refusal)
        if not sdp:
            return error_response(
                400,
                "invalid_offer",
                "Post the SDP offer as application/sdp, or as multipart/form-data with an "
                "'sdp' part (and optionally a 'session' JSON part).",
            )
        if self._media is None:
            # One import for every call that comes meanwhile, in a thread: the sessions
            # already served keep their event loop.
            self._media = asyncio.create_task(asyncio.to_thread(load_media, self.settings.host))
        await asyncio.shield(self._media)
        from rtcore_webrtc.offer import fingerprint_problem

        unusable = fingerprint_problem(sdp)
        if unusable is not None:
            return error_response(400, "invalid_offer", unusable, param="sdp")
        try:
            model = gateway.resolve_model(
                request.query.get("model")
                or wanted
                or await gateway.secret_model(key)
                or self.settings.model
            )
        except UnknownModel as exc:
            code = "missing_model" if exc.requested is None else "model_not_found"
            return error_response(400 if exc.requested is None else 404, code, exc.message)
        # The session part is checked as a client secret's session is, before anything is
        # admitted: a 400 naming the field, not an error event once the call is up.
        problem = gateway.check_session(model, config) if config else None
        if problem is not None:
            return _refused(problem)
        if len(self.live) + self._answering >= self.max_calls:
            return self._full()
        self._answering += 1
        try:
            return await self._answer(request, key, model, sdp, initial, dialect)
        finally:
            self._answering -= 1

    async def _answer(
        self,
        request: HttpRequest,
        key: str | None,
        model: ModelConfig,
        sdp: str,
        initial: str | None,
        dialect: Dialect | None,
    ) -> HttpResponse:
        try:
            admission = await self.gateway.admit(key, model)
        except Refusal as refusal:
            return _refused(refusal)
        from rtcore_webrtc.calls import Call

        call = Call(
            self.gateway,
            model,
            admission=admission,
            dialect=dialect or (Dialect(self.settings.dialect) if self.settings.dialect else None),
            peer=request.remote,
            initial=initial,
            on_end=self._ended,
        )
        try:
            answer = await call.answer(sdp)
        except Exception as exc:  # aiortc rejects malformed or unsupported offers
            log.info("refused a WebRTC offer from %s: %s", request.remote, exc)
            await call.aclose()
            # No session ran: the key's lease goes back now, not when this process dies.
            await self.gateway.release(admission)
            return error_response(400, "invalid_offer", f"The SDP offer was refused: {exc}.")
        self.live[call.id] = call
        log.info("call %s: answered (model %s, peer %s)", call.id, model.name, request.remote)
        return HttpResponse(
            status=201,
            body=answer.encode(),
            content_type="application/sdp",
            headers={"Location": f"{CALLS_PATHS[0]}/{call.id}"},
        )

    def _full(self) -> HttpResponse:
        if not self._refusing:
            self._refusing = True
            log.warning(
                "refusing calls: %d at once, the limit (--max-calls); said once until a call ends",
                self.max_calls,
            )
        response = error_response(
            503,
            "too_many_calls",
            f"This server is carrying its limit of {self.max_calls} calls at once; "
            "call again later.",
            kind="server_error",
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    def _ended(self, call: Call) -> None:
        self.live.pop(call.id, None)
        self._refusing = False
        self.reclaimer.call_ended()

    async def end(self, request: HttpRequest) -> HttpResponse:
        try:
            caller = await self.gateway.caller(bearer(request))
        except Refusal as refusal:
            return _refused(refusal)
        call = self.live.get(request.params.get("call_id", ""))
        # Another's call is answered as no call at all: ids cannot be probed. A call hung
        # up is ended at once for its clients (hanging up again is 404), though it counts
        # against --max-calls until it has closed.
        if call is None or call.hung_up or not caller.owns(call.owner):
            return error_response(404, "call_not_found", "No such call here.", param="call_id")
        call.hang_up()
        return json_response(200, {"id": call.id, "status": "hung_up"})
