"""What minting (``/v1/realtime/client_secrets``, the beta ``/v1/realtime/sessions``) and
``/v1/realtime/calls`` refuse in their bodies, against one real ``rtcore serve`` with a
SQLite key store: bodies and parts that are not UTF-8 JSON objects or nest too deep,
fields they do not take, values of the wrong kind; each a 4xx in OpenAI's shape naming
the field, nothing minted, no lease left behind, no traceback in the log."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.keys.conftest import MASTER, admitted, until
from tests.keys.hostile_http import (
    generate_key,
    multipart,
    no_trouble,
    offer_sdp,
    openai_error,
    send,
    serve_with_store,
    stored,
)
from tests.transports.process import Served
from tests.webrtc.peer import Peer

DEEP = b"[" * 100_000 + b"]" * 100_000
MINT = "/v1/realtime/client_secrets"
BETA = "/v1/realtime/sessions"
CALLS = "/v1/realtime/calls"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    served, db = serve_with_store(tmp_path_factory.mktemp("bad-bodies"))
    with served:
        yield served, db


@pytest.fixture
async def client(
    server: tuple[Served, Path],
) -> AsyncIterator[tuple[aiohttp.ClientSession, Served, Path]]:
    served, db = server
    async with aiohttp.ClientSession() as http:
        yield http, served, db
    no_trouble(served)


async def opens_a_session(served: Served, db: Path, key: str) -> bool:
    """Whether ``key`` is let in now; returns once that session's record is written (so
    that what a later check reads of the store is not still changing)."""
    records = stored(db)["rtcore_spend_logs"]
    if not await admitted(served.port, key):
        return False

    async def recorded() -> bool:
        return stored(db)["rtcore_spend_logs"] == records + 1

    await until(recorded)
    return True


async def virtual_key(http: aiohttp.ClientSession, port: int, **fields: Any) -> str:
    return str((await generate_key(http, port, **fields))["key"])


@pytest.mark.parametrize("path", [MINT, BETA])
@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (DEEP, "application/json", 400, "invalid_json"),
        (b'{"session": {"instructions": "\xff"}}', "application/json", 400, "invalid_json"),
        (b'{"session": {"instructions": "\\udc00"}}', "application/json", 400, "invalid_json"),
        (b"[]", "application/json", 400, "invalid_json"),
        (b"{", "application/json", 400, "invalid_json"),
        (b"{}", "text/plain", 400, "unsupported_content_type"),
        (b"{}", "multipart/form-data; boundary=x", 400, "unsupported_content_type"),
        (b'{"a": "' + b"y" * (1 << 20) + b'"}', "application/json", 413, "request_too_large"),
    ],
)
async def test_minting_refuses_bodies_that_are_not_json_objects(
    client: tuple[aiohttp.ClientSession, Served, Path],
    path: str,
    body: bytes,
    content_type: str,
    status: int,
    code: str,
) -> None:
    http, served, db = client
    before = stored(db)
    got, text = await send(http, served.port, "POST", path, body, content_type)
    assert got == status, text[:300]
    assert openai_error(got, text)["code"] == code
    assert stored(db) == before


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (MINT, {"session": []}, "session"),
        (MINT, {"session": "realtime"}, "session"),
        (MINT, {"session": 0}, "session"),
        (MINT, {"expires_after": []}, "expires_after"),
        (MINT, {"expires_after": False}, "expires_after"),
        (MINT, {"expires_after": {"seconds": 10**30}}, "expires_after.seconds"),
        (MINT, {"expires_after": {"seconds": 60.5}}, "expires_after.seconds"),
        (MINT, {"expires_after": {"seconds": 60, "bogus": 1}}, "expires_after.bogus"),
        (MINT, {"bogus": 1}, "bogus"),
        (MINT, {"session": {"type": "realtime", "model": ["echo"]}}, "session.model"),
        (MINT, {"session": {"type": "realtime", "model": {"a": 1}}}, "session.model"),
        (MINT, {"session": {"type": "realtime", "model": "echo", "voice": 7}}, "session.voice"),
        (BETA, {"model": ["echo"]}, "session.model"),
        (BETA, {"model": 5}, "session.model"),
    ],
)
async def test_minting_refuses_what_it_does_not_take(
    client: tuple[aiohttp.ClientSession, Served, Path],
    path: str,
    body: dict[str, Any],
    param: str,
) -> None:
    http, served, db = client
    before = stored(db)
    key = await virtual_key(http, served.port)
    before = stored(db)
    status, text = await send(http, served.port, "POST", path, json.dumps(body).encode(), key=key)
    error = openai_error(status, text)
    assert error["param"] == param, error
    assert stored(db) == before


async def test_calls_refuse_offers_and_session_parts_that_are_not_utf8_json(
    client: tuple[aiohttp.ClientSession, Served, Path],
) -> None:
    http, served, db = client
    key = await virtual_key(http, served.port, max_parallel_requests=1)
    sdp = (await offer_sdp()).encode()
    cases: list[tuple[bytes, str, str, str | None]] = [
        (sdp[:40] + b"\xff\xfe" + sdp[40:], "application/sdp", "invalid_offer", None),
        (b"sdp=%FF%FE&model=echo", "application/x-www-form-urlencoded", "invalid_offer", None),
    ]
    for session, code, param in (
        (DEEP, "invalid_json", "session"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "invalid_json", "session"),
        (b'{"instructions": "\xff"}', "invalid_offer", "session"),
        (b'{"instructions": NaN}', "invalid_json", "session"),
        (b"[]", "invalid_json", "session"),
        (b'{"model": 5}', "invalid_value", "session.model"),
        (b'{"type": "realtime", "voice": 7}', "invalid_type", "session.voice"),
        (b'{"type": "realtime", "bogus": true}', "unknown_parameter", "session.bogus"),
    ):
        body, content_type = multipart({"sdp": sdp, "session": session})
        cases.append((body, content_type, code, param))
    for body, content_type, code, param in cases:
        before = stored(db)
        status, text = await send(
            http, served.port, "POST", CALLS + "?model=echo", body, content_type, key
        )
        error = openai_error(status, text)
        assert (error["code"], error["param"]) == (code, param), (body[:200], error)
        assert stored(db) == before
    assert "answered" not in served.stderr
    # Nothing held the key's one session: it opens one now.
    assert await opens_a_session(served, db, key)


async def test_a_refused_offer_gives_the_key_its_lease_back(
    client: tuple[aiohttp.ClientSession, Served, Path],
) -> None:
    http, served, db = client
    key = await virtual_key(http, served.port, max_parallel_requests=1)
    before = stored(db)
    junk = b"v=0 not an offer"
    path = CALLS + "?model=echo"
    status, text = await send(http, served.port, "POST", path, junk, "application/sdp", key)
    assert openai_error(status, text)["code"] == "invalid_offer"
    # No lease but the process's own heartbeat (a lease of a token no key has).
    assert stored(db)["rtcore_leases"] == before["rtcore_leases"] <= 1
    assert await opens_a_session(served, db, key)


@pytest.mark.parametrize(
    "session",
    [
        {"modalities": ["text"], "instructions": "Be brief.", "voice": "echo-voice"},
        {"type": "realtime", "output_modalities": ["text"], "instructions": "Be brief."},
    ],
)
async def test_a_session_part_of_either_dialect_that_checks_out_is_taken(
    client: tuple[aiohttp.ClientSession, Served, Path], session: dict[str, Any]
) -> None:
    _, served, db = client
    records = stored(db)["rtcore_spend_logs"]
    peer = Peer()
    try:
        answer = await peer.call(
            f"http://127.0.0.1:{served.port}", MASTER, session={**session, "model": "echo"}
        )
        assert answer.status == 201, peer.refusal
        updated = await peer.until("session.updated")
        assert updated["session"]["instructions"] == "Be brief."
    finally:
        await peer.close()

    # The call's record is written once it has ended: the store is still again.
    async def recorded() -> bool:
        return stored(db)["rtcore_spend_logs"] == records + 1

    await until(recorded, within=30)


async def test_a_refused_upgrade_holds_no_lease(
    client: tuple[aiohttp.ClientSession, Served, Path],
) -> None:
    """What the upgrade request itself gets wrong (a bad ?input_audio_rate, the key's
    subprotocol without 'realtime', no upgrade at all) is refused before the key is
    admitted: its one session is still there to open."""
    http, served, db = client
    key = await virtual_key(http, served.port, max_parallel_requests=1)
    base = f"http://127.0.0.1:{served.port}/v1/realtime?model=echo"
    upgrade = {
        "Authorization": f"Bearer {key}",
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    cases = [
        (base + "&input_audio_rate=7", upgrade, "invalid_value"),
        (
            base,
            {**upgrade, "Sec-WebSocket-Protocol": f"openai-insecure-api-key.{key}"},
            "invalid_subprotocol",
        ),
        (base, {"Authorization": f"Bearer {key}"}, "upgrade_required"),
    ]
    for url, headers, code in cases:
        async with http.get(url, headers=headers) as answer:
            error = openai_error(answer.status, await answer.text())
        assert error["code"] == code
        assert stored(db)["rtcore_leases"] <= 1  # the process's own heartbeat at most
    assert await opens_a_session(served, db, key)
