"""Local stand-ins for the AWS endpoints credentials come from, on loopback: STS
(``AssumeRole``, ``AssumeRoleWithWebIdentity``, the awsQuery protocol), the EC2 instance
metadata service (IMDSv2) and a container credentials endpoint (ECS, EKS Pod Identity).

Every credential they hand out is also issued to the Nova Sonic emulator, which then
checks each stream's signature against them: a test proves which credentials were used.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from rtcore_sonic_emulator import NovaSonicEmulator

IMDS_ROLE = "rtcore-test-instance-role"
CONTAINER_TOKEN = "container-auth-token"
SSO_TOKEN = "sso-access-token"  # what `aws sso login` cached, in the tests


@dataclass
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime.datetime


@dataclass
class Call:
    """One request a stand-in answered: which source, and what it was asked."""

    source: str  # "sts", "imds", "container", "sso"
    fields: dict[str, str] = field(default_factory=dict)
    signed_by: str | None = None  # the access key an STS call was signed with
    issued: str = ""  # the access key handed out


class StandIns:
    def __init__(self, emulator: NovaSonicEmulator, *, ttl_seconds: float = 3600.0) -> None:
        self.emulator = emulator
        self.ttl_seconds = ttl_seconds
        self.calls: list[Call] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issue(self, access_key_id: str, secret_access_key: str, token: str | None = None) -> None:
        """Long-lived credentials (a user's keys) the emulator accepts too."""
        self.emulator.issue(access_key_id, secret_access_key, token)

    def _new(self, source: str, call: Call) -> Credentials:
        expiration = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
            seconds=self.ttl_seconds
        )
        creds = Credentials(
            access_key_id="ASIA" + secrets.token_hex(8).upper(),
            secret_access_key=secrets.token_urlsafe(30),
            session_token=secrets.token_urlsafe(60),
            expiration=expiration.replace(microsecond=0),
        )
        self.emulator.issue(
            creds.access_key_id, creds.secret_access_key, creds.session_token, creds.expiration
        )
        call.issued = creds.access_key_id
        self.calls.append(call)
        return creds

    def of(self, source: str) -> list[Call]:
        return [c for c in self.calls if c.source == source]

    async def __aenter__(self) -> StandIns:
        app = web.Application()
        app.router.add_post("/sts/", self._sts)
        app.router.add_put("/latest/api/token", self._imds_token)
        app.router.add_get("/latest/meta-data/iam/security-credentials", self._imds_roles)
        app.router.add_get("/latest/meta-data/iam/security-credentials/", self._imds_roles)
        app.router.add_get(
            "/latest/meta-data/iam/security-credentials/{role}", self._imds_credentials
        )
        app.router.add_get("/container/credentials", self._container)
        app.router.add_get("/federation/credentials", self._sso)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    # -- STS (awsQuery: a form in, XML out) ------------------------------------------------

    async def _sts(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        action = form.get("Action", "")
        authorization = request.headers.get("Authorization", "")
        signer = authorization.partition("Credential=")[2].partition("/")[0] or None
        if action == "AssumeRoleWithWebIdentity" and not form.get("WebIdentityToken"):
            return _sts_error("InvalidIdentityToken", "No web identity token.")
        if action == "AssumeRole" and signer is None:
            return _sts_error("MissingAuthenticationToken", "Request is missing a signature.")
        if action not in ("AssumeRole", "AssumeRoleWithWebIdentity"):
            return _sts_error("InvalidAction", f"Could not find operation {action}.")
        creds = self._new("sts", Call("sts", form, signer))
        role = escape(form.get("RoleArn", ""))
        body = f"""<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <{action}Result>
    <Credentials>
      <AccessKeyId>{creds.access_key_id}</AccessKeyId>
      <SecretAccessKey>{escape(creds.secret_access_key)}</SecretAccessKey>
      <SessionToken>{escape(creds.session_token)}</SessionToken>
      <Expiration>{creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ")}</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>{role}/{escape(form.get("RoleSessionName", ""))}</Arn>
      <AssumedRoleId>AROATEST:{escape(form.get("RoleSessionName", ""))}</AssumedRoleId>
    </AssumedRoleUser>
  </{action}Result>
  <ResponseMetadata><RequestId>{secrets.token_hex(8)}</RequestId></ResponseMetadata>
</{action}Response>"""
        return web.Response(text=body, content_type="text/xml")

    # -- IMDSv2 ------------------------------------------------------------------------------

    async def _imds_token(self, request: web.Request) -> web.Response:
        if "X-aws-ec2-metadata-token-ttl-seconds" not in request.headers:
            return web.Response(status=400)
        return web.Response(text="imds-session-token")

    def _imds_ok(self, request: web.Request) -> bool:
        return request.headers.get("X-aws-ec2-metadata-token") == "imds-session-token"

    async def _imds_roles(self, request: web.Request) -> web.Response:
        if not self._imds_ok(request):
            return web.Response(status=401)
        return web.Response(text=IMDS_ROLE)

    async def _imds_credentials(self, request: web.Request) -> web.Response:
        if not self._imds_ok(request) or request.match_info["role"] != IMDS_ROLE:
            return web.Response(status=401 if not self._imds_ok(request) else 404)
        return web.json_response(_json(self._new("imds", Call("imds")), code=True))

    # -- the SSO portal (GetRoleCredentials) -------------------------------------------------

    async def _sso(self, request: web.Request) -> web.Response:
        if request.headers.get("x-amz-sso_bearer_token") != SSO_TOKEN:
            return web.json_response({"message": "Session token not found or invalid"}, status=401)
        fields = dict(request.query)
        creds = self._new("sso", Call("sso", fields))
        role = {
            "accessKeyId": creds.access_key_id,
            "secretAccessKey": creds.secret_access_key,
            "sessionToken": creds.session_token,
            "expiration": int(creds.expiration.timestamp() * 1000),
        }
        return web.json_response({"roleCredentials": role})

    # -- container credentials -------------------------------------------------------------

    async def _container(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != CONTAINER_TOKEN:
            return web.json_response({"code": "AccessDenied"}, status=403)
        return web.json_response(_json(self._new("container", Call("container"))))


def _json(creds: Credentials, *, code: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AccessKeyId": creds.access_key_id,
        "SecretAccessKey": creds.secret_access_key,
        "Token": creds.session_token,
        "Expiration": creds.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if code:
        out = {"Code": "Success", "Type": "AWS-HMAC", **out}
    return out


def _sts_error(code: str, message: str) -> web.Response:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{escape(message)}</Message>"
        "</Error><RequestId>0</RequestId></ErrorResponse>"
    )
    return web.Response(status=400, text=body, content_type="text/xml")
