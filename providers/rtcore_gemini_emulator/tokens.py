"""A local OAuth 2 token endpoint (``POST /token``) and the access tokens it issued.

Vertex AI takes ``Authorization: Bearer <access token>`` (reference §1). google-auth refreshes an
``authorized_user`` credential with ``grant_type=refresh_token`` and a service account with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, both at the credential's
``token_uri``; pointing that at the emulator lets a real credential file refresh for real, with
no Google account. Only tokens issued here (or JWTs a service account issued here signed
itself) open a Vertex connection.

google-auth ignores an ``authorized_user`` file's ``token_uri`` (``from_authorized_user_info``
always uses Google's endpoint; google-auth 2.63) but honours a service account's, so
:meth:`TokenIssuer.service_account_info` is what a credential loader can be handed as is.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REFRESH_GRANT = "refresh_token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_LIFETIME = 3600.0
CLIENT_ID = "rtcore-emulator.apps.googleusercontent.com"
CLIENT_SECRET = "rtcore-emulator-client-secret"
SERVICE_ACCOUNT = "emulator@emulator-project.iam.gserviceaccount.com"


class TokenError(Exception):
    """An OAuth error response (RFC 6749 §5.2): ``{"error", "error_description"}``, 400."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class TokenIssuer:
    lifetime: float = DEFAULT_TOKEN_LIFETIME
    # access token -> monotonic expiry
    _access: dict[str, float] = field(default_factory=dict)
    _refresh: set[str] = field(default_factory=set)
    # service account key id -> its key (made on first use: RSA key generation is slow)
    _keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)
    issued: int = 0  # access tokens handed out

    def new_refresh_token(self) -> str:
        token = "1//emulator-" + secrets.token_urlsafe(24)
        self._refresh.add(token)
        return token

    def issue_access_token(self, lifetime: float | None = None) -> tuple[str, float]:
        """A new access token and its lifetime in seconds."""
        seconds = self.lifetime if lifetime is None else lifetime
        token = "ya29.emulator-" + secrets.token_urlsafe(32)
        self._access[token] = time.monotonic() + seconds
        self.issued += 1
        return token, seconds

    def valid(self, token: str) -> bool:
        """An access token issued here and unexpired, or a self-signed JWT of a service
        account issued here (google-auth's ``always_use_jwt_access``)."""
        expiry = self._access.get(token)
        if expiry is not None:
            return time.monotonic() < expiry
        try:
            self._verify_jwt(token)
        except TokenError:
            return False
        return True

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer a token request's form fields, or raise :class:`TokenError`."""
        grant_type = form.get("grant_type", "")
        if grant_type == REFRESH_GRANT:
            if form.get("refresh_token", "") not in self._refresh:
                raise TokenError("invalid_grant", "Token has been expired or revoked.")
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                raise TokenError("invalid_client", "The OAuth client was not found.")
        elif grant_type == JWT_GRANT:
            self._verify_jwt(form.get("assertion", ""))
        else:
            raise TokenError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        token, seconds = self.issue_access_token()
        return {"access_token": token, "expires_in": int(seconds), "token_type": "Bearer"}

    def authorized_user_info(self, token_uri: str) -> dict[str, str]:
        """The contents of an ``authorized_user`` credentials file (google-auth's
        ``Credentials.from_authorized_user_info``) that refreshes at ``token_uri``."""
        return {
            "type": "authorized_user",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": self.new_refresh_token(),
            "token_uri": token_uri,
        }

    def service_account_info(self, token_uri: str) -> dict[str, str]:
        """The contents of a service account key file whose ``token_uri`` is ``token_uri``:
        google-auth signs its JWT grant with the key, and the emulator checks the signature."""
        key_id = secrets.token_hex(20)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._keys[key_id] = key
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return {
            "type": "service_account",
            "project_id": "emulator-project",
            "private_key_id": key_id,
            "private_key": pem.decode("ascii"),
            "client_email": SERVICE_ACCOUNT,
            "client_id": "100000000000000000000",
            "token_uri": token_uri,
        }

    def _verify_jwt(self, token: str) -> dict[str, Any]:
        """The claims of an RS256 JWT signed by a service account key issued here, with
        ``iss``, ``aud`` (or ``scope``) and an ``exp`` still ahead."""
        parts = token.split(".")
        if len(parts) != 3:
            raise TokenError("invalid_grant", "Invalid JWT: not a signed JWT.")
        try:
            header = json.loads(_b64(parts[0]))
            claims = json.loads(_b64(parts[1]))
            signature = _b64(parts[2])
        except (binascii.Error, ValueError):
            raise TokenError("invalid_grant", "Invalid JWT: unreadable.") from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise TokenError("invalid_grant", "Invalid JWT: unreadable.")
        key = self._keys.get(str(header.get("kid")))
        if key is None or header.get("alg") != "RS256":
            raise TokenError("invalid_grant", "Invalid JWT Signature.")
        try:
            key.public_key().verify(
                signature,
                f"{parts[0]}.{parts[1]}".encode("ascii"),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            raise TokenError("invalid_grant", "Invalid JWT Signature.") from None
        # A grant assertion names its audience; a self-signed JWT may carry scopes instead.
        if not claims.get("iss") or not (claims.get("aud") or claims.get("scope")):
            raise TokenError("invalid_grant", "Invalid JWT: iss and aud are required.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= time.time():
            raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token.")
        return claims


def _b64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
