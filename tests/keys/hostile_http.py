"""What hostile HTTP requests to the admin, minting and calls endpoints are checked with:
raw requests (any bytes, any content type), the OpenAI error shape every refusal must
have, and what the key store's SQLite file holds (read directly, so that "nothing stored"
is what the database says, not what the API claims)."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCPeerConnection

from tests.keys.conftest import CONFIG, MASTER
from tests.transports.process import Served


def serve_with_store(tmp_path: Path, *extra: str) -> tuple[Served, Path]:
    """``rtcore serve`` with the master key and a SQLite key store of its own; returns the
    server and its database file."""
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    db = data / "keys.db"
    served = Served(
        "--config",
        str(config),
        "--database-url",
        f"sqlite:///{db}",
        *extra,
        env={"XDG_DATA_HOME": str(data)},
    )
    return served, db


async def send(
    http: aiohttp.ClientSession,
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    content_type: str | None = "application/json",
    key: str = MASTER,
    query: dict[str, str] | None = None,
) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    async with http.request(
        method,
        f"http://127.0.0.1:{port}{path}",
        # A file-like body: aiohttp warns of large bytes sent as they are.
        data=None if body is None else io.BytesIO(body),
        params=query,
        headers=headers,
        # The body's bytes as given: no charset or content type of the client's own.
        skip_auto_headers=["Content-Type"],
    ) as answer:
        return answer.status, await answer.text()


async def generate_key(http: aiohttp.ClientSession, port: int, **fields: Any) -> dict[str, Any]:
    """A virtual key made with ``fields`` through ``/key/generate``: the whole answer."""
    status, text = await send(http, port, "POST", "/key/generate", json.dumps(fields).encode())
    assert status == 200, text
    return dict(strict_json(text))


def _no_constant(name: str) -> Any:
    raise AssertionError(f"the answer holds {name}, which is not JSON")


def strict_json(text: str) -> Any:
    """``text`` parsed as JSON proper: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=_no_constant)


def openai_error(status: int, text: str) -> dict[str, Any]:
    """The error of a 4xx answer in OpenAI's shape, ``{"error": {type, code, message,
    param}}``; fails on anything else."""
    assert 400 <= status < 500, (status, text[:500])
    try:
        body = strict_json(text)
    except ValueError as exc:
        raise AssertionError(f"not JSON: {exc}") from None
    assert isinstance(body, dict), text[:500]
    assert set(body) == {"error"}, text[:500]
    error = body["error"]
    for field in ("type", "code", "message"):
        assert isinstance(error.get(field), str), (field, text[:500])
        assert error[field], (field, text[:500])
    assert "param" in error, text[:500]
    assert error["param"] is None or isinstance(error["param"], str), text[:500]
    return dict(error)


def stored(db: Path) -> dict[str, Any]:
    """What the key store holds: every key's row, and how many client secrets, leases and
    spend records there are."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        keys = conn.execute("SELECT * FROM rtcore_keys ORDER BY token").fetchall()
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("rtcore_client_secrets", "rtcore_leases", "rtcore_spend_logs")
        }
    conn.close()
    return {"keys": keys, **counts}


def no_trouble(served: Served) -> None:
    """Nothing the server logged says it failed on a request."""
    log = served.stderr
    assert "Traceback" not in log, log[-3000:]
    assert " ERROR " not in log, log[-3000:]


def multipart(parts: dict[str, bytes], boundary: str = "rtcore-boundary") -> tuple[bytes, str]:
    """A ``multipart/form-data`` body of these parts' bytes as they are, and its type."""
    mark = boundary.encode()
    body = b"".join(
        b"--" + mark + b'\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n'
        b"\r\n" + value + b"\r\n"
        for name, value in parts.items()
    )
    return body + b"--" + mark + b"--\r\n", f"multipart/form-data; boundary={boundary}"


async def offer_sdp() -> str:
    """A real WebRTC offer (an aiortc peer's, audio and the events channel), for requests
    whose other parts are what is wrong."""
    pc = RTCPeerConnection()
    try:
        pc.createDataChannel("oai-events")
        pc.addTransceiver("audio", direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()
