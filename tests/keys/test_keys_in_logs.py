"""Keys that clients put in a URL's query (``/key/info?key=sk-...``,
``/spend/logs?api_key=sk-...``, a client secret, the master key) or path
(``/key/sk-.../regenerate``, a short key chosen by the operator too) never reach the log of a
real ``rtcore serve`` whole, in text or JSON lines: a virtual key or a secret shows as
LiteLLM shows keys (``sk-...abcd``), the master key as the mask."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest
import websockets

from tests.keys.conftest import MASTER, until
from tests.keys.hostile_http import send, serve_with_store, strict_json


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_keys_in_queries_are_masked_in_every_line(tmp_path: Path, log_format: str) -> None:
    served, _ = serve_with_store(tmp_path, "--log-format", log_format)
    with served:
        async with aiohttp.ClientSession() as http:
            port = served.port
            status, text = await send(http, port, "POST", "/key/generate", b'{"key_alias": "a"}')
            assert status == 200, text
            key = strict_json(text)["key"]
            status, text = await send(http, port, "POST", "/v1/realtime/client_secrets", key=key)
            assert status == 200, text
            secret = strict_json(text)["value"]
            requests = [
                ("/key/info", {"key": key}, MASTER),
                ("/spend/logs", {"api_key": key, "start_date": "2026-01-01"}, MASTER),
                ("/key/info", {"key": secret}, MASTER),
                ("/key/info", {"key": MASTER}, MASTER),
                ("/key/list", {"key_alias": "a", "token": key}, MASTER),
                # Refused: the key in the query is logged all the same.
                ("/key/info", {"key": key}, key),
            ]
            for path, query, bearer in requests:
                await send(http, port, "GET", path, None, None, bearer, query)
            url = f"ws://127.0.0.1:{port}/v1/realtime?model=echo&api_key={key}"
            headers = {"Authorization": f"Bearer {key}"}
            async with websockets.connect(url, additional_headers=headers) as ws:
                assert json.loads(await ws.recv())["type"] == "session.created"
            short = "sk-short-1"  # too short to be known for a key by its shape alone
            status, text = await send(http, port, "POST", "/key/generate", b'{"key": "sk-short-1"}')
            assert status == 200, text
            for regenerated in (key, short):
                status, text = await send(http, port, "POST", f"/key/{regenerated}/regenerate")
                assert status == 200, text
            status, text = await send(http, port, "POST", f"/key/{short}/regenerate")
            assert status == 404, text  # refused: logged by the admin API too

        # Each request's access line is written once it is answered; the session's once
        # the session has ended.
        async def logged() -> bool:
            lines = [line for line in served.lines if "rtcore.access" in line]
            return len(lines) >= len(requests) + 7 and any("101" in line for line in lines)

        await until(logged)
        log = served.stderr
    for secret_value in (key, secret, MASTER, key[3:], secret[3:], short, short[3:]):
        assert secret_value not in log, secret_value
    access = [line for line in log.splitlines() if "rtcore.access" in line]
    if log_format == "json":
        access = [json.loads(line)["message"] for line in access]
    shown = f"sk-...{key[-4:]}"
    assert any(f"/key/info?key={shown}" in line for line in access), access
    assert any(f"api_key={shown}&start_date=2026-01-01" in line for line in access), access
    assert any(f"/key/info?key=ek_...{secret[-4:]}" in line for line in access), access
    assert any("/key/info?key=[REDACTED]" in line for line in access), access
    assert any(f"key_alias=a&token={shown}" in line for line in access), access
    assert any(f"/v1/realtime?model=echo&api_key={shown}" in line for line in access), access
    assert any(f"/key/{shown}/regenerate" in line for line in access), access
    assert any("/key/[REDACTED]/regenerate" in line for line in access), access
