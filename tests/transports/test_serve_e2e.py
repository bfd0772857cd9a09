"""``rtcore serve`` as a subprocess with the third-party echo plugin: real sockets, real
signals, real logs."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.transports.process import Served, rtcore
from tests.transports.turns import run_turn, user_turn

TEXT_TURN = user_turn(modalities=["text"])


async def text_turn(url: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return await run_turn(url, TEXT_TURN, headers)


def streamed_text(events: list[dict[str, Any]]) -> str:
    return "".join(e["delta"] for e in events if e["type"] == "response.text.delta")


async def test_provider_flag_serves_default_model_under_provider_name() -> None:
    with Served("--provider", "echo") as served:
        events = await text_turn(served.url("echo"))
        assert streamed_text(events) == "You said: Hello!"
        # The provider's model ids answer too.
        assert (await text_turn(served.url("echo-1")))[-1]["response"]["status"] == "completed"
        assert served.stop() == 0
    assert "no master key configured: any API key is accepted; listening on loopback only" in (
        served.stderr
    )
    assert "Traceback" not in served.stderr


async def test_master_key_from_env_var() -> None:
    with Served("--provider", "echo", env={"RTCORE_MASTER_KEY": "sk-from-env-var"}) as served:
        with pytest.raises(InvalidStatus) as info:
            await text_turn(served.url(), {"Authorization": "Bearer sk-1234"})
        assert info.value.response.status_code == 401
        events = await text_turn(served.url(), {"Authorization": "Bearer sk-from-env-var"})
        assert streamed_text(events) == "You said: Hello!"
    assert "any API key is accepted" not in served.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_closes_open_sessions_and_exits_cleanly(sig: signal.Signals) -> None:
    served = Served("--provider", "echo")
    async with connect(served.url(), proxy=None) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        assert json.loads(await ws.recv())["type"] == "conversation.created"
        code = await asyncio.to_thread(served.stop, sig)
        # Nothing in flight: the last word at once, then "going away".
        farewell = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert farewell["type"] == "error"
        assert farewell["error"]["code"] == "server_shutting_down"
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
    assert code == 0
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1001
    assert f"stopped by {sig.name}" in served.stderr
    assert "Traceback" not in served.stderr


def test_public_bind_without_key_needs_explicit_flag() -> None:
    result = rtcore("serve", "--provider", "echo", "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without a master key" in result.stderr
    assert "--allow-unauthenticated-public" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flags", "env"),
    [
        (["--allow-unauthenticated-public"], {}),
        ([], {"RTCORE_MASTER_KEY": "sk-public"}),
    ],
)
async def test_public_bind_allowed_with_flag_or_key(flags: list[str], env: dict[str, str]) -> None:
    with Served("--provider", "echo", "--host", "0.0.0.0", *flags, env=env) as served:
        assert served.host == "0.0.0.0"
        key = env.get("RTCORE_MASTER_KEY", "sk-1234")
        events = await text_turn(served.url(), {"Authorization": f"Bearer {key}"})
        assert events[-1]["type"] == "response.done"
        assert served.stop() == 0


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = rtcore("serve", "--provider", "echo", "--port", str(port))
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


async def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    master = "sk-master-9f8e7d6c5b4a"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    config = tmp_path / "config.yaml"
    # The echo model's "unavailable" message stands for an upstream error that quotes the
    # credentials back: the gateway logs it, and the log must mask them.
    config.write_text(
        f"""\
model_list:
  - model_name: leaky
    litellm_params:
      model: echo/echo-1
      aws_access_key_id: AKIAEXAMPLEKEYID1234
      aws_secret_access_key: os.environ/TEST_AWS_SECRET
      unavailable: "upstream refused {secret} / AKIAEXAMPLEKEYID1234 / {master}"
general_settings:
  master_key: {master}
"""
    )
    with Served(
        "--config", str(config), "--log-level", "debug", env={"TEST_AWS_SECRET": secret}
    ) as served:
        url = served.url("leaky")
        with pytest.raises(InvalidStatus):
            await text_turn(url, {"Authorization": "Bearer sk-wrong-key-123"})
        async with connect(url, proxy=None, additional_headers={"api-key": master}) as ws:
            error = json.loads(await ws.recv())
            assert error["type"] == "error"
        assert served.stop() == 0
    assert "[REDACTED]" in served.stderr  # the leak was attempted, and masked
    for value in (master, secret, "AKIAEXAMPLEKEYID1234", "sk-wrong-key-123"):
        assert value not in served.stderr


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]])
async def test_sighup_is_said_and_serving_goes_on(workers: list[str]) -> None:
    # Before, SIGHUP (a closed terminal; an operator's "reload") killed the process
    # without a word: Python's default action.
    served = Served("--provider", "echo", *workers)
    try:
        async with connect(served.url(), proxy=None) as ws:
            assert json.loads(await ws.recv())["type"] == "session.created"
            served.proc.send_signal(signal.SIGHUP)
            await asyncio.sleep(0.5)
            assert served.proc.poll() is None
            # The open session goes on, and new ones are served.
            events = await text_turn(served.url(), {})
            assert streamed_text(events) == "You said: Hello!"
            await ws.send(json.dumps({"type": "session.update", "session": {}}))
            async with asyncio.timeout(5):
                while json.loads(await ws.recv())["type"] != "session.updated":
                    pass
        assert "SIGHUP received: still serving" in served.stderr
    finally:
        code = await asyncio.to_thread(served.stop, signal.SIGTERM)
    assert code == 0
