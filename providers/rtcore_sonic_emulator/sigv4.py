"""Checking the SigV4 signature of a stream's request, as Bedrock does, against the
credentials the emulator was told were issued (``NovaSonicEmulator.issue``), so that a test
proves which credentials a client really signed with.

Written from the public SigV4 specification (AWS's "Create a signed AWS API request"): the
canonical request (method, the path with each segment URI-encoded again, the sorted query,
the signed headers, the payload hash, here the event stream's
``STREAMING-AWS4-HMAC-SHA256-EVENTS``), the string to sign, and the HMAC-SHA256 chain from
the secret key over date, region and service. Only the request's signature is checked, not
the per-event chunk signatures.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from .errors import BedrockError

_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<scope>[^,]+), "
    r"SignedHeaders=(?P<headers>[^,]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check "
    "your AWS Secret Access Key and signing method. Consult the service documentation for "
    "details."
)


@dataclass(frozen=True, slots=True)
class Issued:
    secret_access_key: str
    session_token: str | None = None
    expires: datetime.datetime | None = None


def verify(headers: dict[str, str], issued: dict[str, Issued]) -> None:
    """Raise Bedrock's error for a request not signed by issued, unexpired credentials."""
    match = _AUTH.match(headers.get("authorization", ""))
    if match is None:
        raise BedrockError("AccessDeniedException", "Missing SigV4 authorization header.")
    credentials = issued.get(match["key"])
    if credentials is None:
        raise BedrockError("UnrecognizedClientException", INVALID_TOKEN)
    if credentials.session_token is not None and (
        headers.get("x-amz-security-token") != credentials.session_token
    ):
        raise BedrockError("UnrecognizedClientException", INVALID_TOKEN)
    now = datetime.datetime.now(datetime.UTC)
    if credentials.expires is not None and now >= credentials.expires:
        raise BedrockError("ExpiredTokenException", EXPIRED_TOKEN)
    expected = signature(headers, match["scope"], match["headers"], credentials.secret_access_key)
    if not hmac.compare_digest(expected, match["signature"]):
        raise BedrockError("InvalidSignatureException", BAD_SIGNATURE)


def signature(headers: dict[str, str], scope: str, signed: str, secret: str) -> str:
    date, region, service, terminator = scope.split("/")
    path, _, query = headers.get(":path", "").partition("?")
    canonical = "\n".join(
        [
            headers.get(":method", ""),
            _canonical_path(path),
            _canonical_query(query),
            "".join(f"{h}:{_value(headers, h)}\n" for h in signed.split(";")),
            signed,
            headers.get("x-amz-content-sha256", hashlib.sha256(b"").hexdigest()),
        ]
    )
    to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            headers.get("x-amz-date", ""),
            scope,
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, terminator):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _value(headers: dict[str, str], name: str) -> str:
    value = headers.get(":authority", "") if name == "host" else headers.get(name, "")
    return " ".join(value.split())


def _canonical_path(path: str) -> str:
    # Every service but S3 encodes each (already encoded) path segment once more.
    return "/".join(quote(segment, safe="-_.~") for segment in path.split("/")) or "/"


def _canonical_query(query: str) -> str:
    pairs = [p.partition("=") for p in query.split("&") if p]
    return "&".join(
        f"{quote(unquote(k), safe='-_.~')}={quote(unquote(v), safe='-_.~')}"
        for k, _, v in sorted(pairs)
    )
