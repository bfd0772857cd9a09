"""``rtcore serve --ssl-certfile/--ssl-keyfile`` (or general_settings): wss:// and https://,
for clients that always dial TLS (the openai npm package's OpenAIRealtimeWS)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest
import trustme
import websockets
import yaml

from tests.transports.process import Served, rtcore


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, ssl.SSLContext]:
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    where = tmp_path_factory.mktemp("tls")
    chain, key = where / "chain.pem", where / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    client = ssl.create_default_context()
    ca.configure_trust(client)  # this client only: nothing process-wide
    return chain, key, client


async def turn(url: str, context: ssl.SSLContext) -> list[str]:
    async with websockets.connect(url, ssl=context, open_timeout=10) as ws:
        item = {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        }
        await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
        await ws.send(json.dumps({"type": "response.create"}))
        types = []
        async for frame in ws:
            types.append(json.loads(frame)["type"])
            if types[-1] == "response.done":
                return types
    raise AssertionError("no response.done")


async def test_serves_wss_from_the_flags(tls: tuple[Path, Path, ssl.SSLContext]) -> None:
    chain, key, client = tls
    with Served("--provider", "echo", "--ssl-certfile", str(chain), "--ssl-keyfile", str(key)) as s:
        types = await turn(f"wss://localhost:{s.port}/v1/realtime?model=echo", client)
        assert f"listening on wss://127.0.0.1:{s.port}/v1/realtime" in s.stderr
    assert types[0] == "session.created"
    assert "response.done" in types


async def test_serves_wss_from_general_settings(
    tls: tuple[Path, Path, ssl.SSLContext], tmp_path: Path
) -> None:
    chain, key, client = tls
    config = {
        "model_list": [
            {"model_name": "echo", "litellm_params": {"model": "echo/echo-1"}, "model_info": {}}
        ],
        "general_settings": {"ssl_certfile": str(chain), "ssl_keyfile": "os.environ/KEY_PEM"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with Served("--config", str(path), env={"KEY_PEM": str(key)}) as served:
        types = await turn(f"wss://localhost:{served.port}/v1/realtime?model=echo", client)
    assert "response.done" in types


def test_a_bad_certificate_stops_the_start_with_a_message(tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate")
    result = rtcore("serve", "--provider", "echo", "--port", "0", "--ssl-certfile", str(bogus))
    assert result.returncode != 0
    assert "cannot serve TLS" in result.stderr
    assert "Traceback" not in result.stderr
    missing = rtcore("serve", "--provider", "echo", "--ssl-certfile", str(tmp_path / "none.pem"))
    assert "no such file" in missing.stderr
    keyless = rtcore("serve", "--provider", "echo", "--ssl-keyfile", str(bogus))
    assert "--ssl-keyfile needs --ssl-certfile" in keyless.stderr
