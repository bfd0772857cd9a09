"""A local OAuth 2 token endpoint (``POST /token``) and the access tokens it issued.

Vertex AI takes ``Authorization: Bearer <access token>`` (reference §1). google-auth refreshes an
``authorized_user`` credential with ``grant_type=refresh_token`` and a service account with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, both at the credential's
``token_uri``; pointing that at the emulator lets a real credential file refresh for real, with
no Google account. Only tokens issued here open a Vertex connection.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

REFRESH_GRANT = "refresh_token"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_TOKEN_LIFETIME = 3600.0
CLIENT_ID = "rtcore-emulator.apps.googleusercontent.com"
CLIENT_SECRET = "rtcore-emulator-client-secret"


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
        expiry = self._access.get(token)
        return expiry is not None and time.monotonic() < expiry

    def grant(self, form: dict[str, str]) -> dict[str, Any]:
        """Answer a token request's form fields, or raise :class:`TokenError`."""
        grant_type = form.get("grant_type", "")
        if grant_type == REFRESH_GRANT:
            if form.get("refresh_token", "") not in self._refresh:
                raise TokenError("invalid_grant", "Token has been expired or revoked.")
            if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
                raise TokenError("invalid_client", "The OAuth client was not found.")
        elif grant_type == JWT_GRANT:
            _check_assertion(form.get("assertion", ""))
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


def _check_assertion(assertion: str) -> None:
    """A JWT with ``iss``, ``aud`` and an ``exp`` still ahead; the signature is not checked
    (the emulator holds no one's public keys)."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise TokenError("invalid_grant", "Invalid JWT: not a signed JWT.")
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        raise TokenError("invalid_grant", "Invalid JWT: unreadable claims.") from None
    if not isinstance(claims, dict) or not claims.get("iss") or not claims.get("aud"):
        raise TokenError("invalid_grant", "Invalid JWT: iss and aud are required.")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= time.time():
        raise TokenError("invalid_grant", "Invalid JWT: Token must be a short-lived token.")
