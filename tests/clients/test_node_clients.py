"""The Node clients, unmodified and with their defaults, against ``rtcore serve`` over
``wss://`` and the Bedrock provider on the Nova Sonic emulator: the openai npm package's
``OpenAIRealtimeWS`` (GA and beta; it always dials TLS) and ``@openai/agents-realtime``.

The clients live in ``tests/clients/node`` (``package.json`` and its lock; ``make test``
runs ``npm ci`` there). Each script prints every raw server event as a JSON line; they are
validated here against the openai Python SDK's models, as a strict client would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import trustme

from rtcore_sonic_emulator import utterance_pcm
from tests.clients.conftest import served_by_emulator, validate

NODE_DIR = Path(__file__).parent / "node"
MODELS = ["amazon.nova-sonic-v1:0", "amazon.nova-2-sonic-v1:0"]


@pytest.fixture(scope="module")
def node() -> str:
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the Node client tests"
    assert (NODE_DIR / "node_modules" / "openai").is_dir(), (
        "the Node clients are not installed: run `make test` (npm ci in tests/clients/node)"
    )
    return node


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(server chain, server key, CA) for ``localhost``; only the Node process trusts it."""
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    where = tmp_path_factory.mktemp("node-tls")
    chain, key, ca_file = where / "chain.pem", where / "key.pem", where / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(chain))
    cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return chain, key, ca_file


async def run_node(node: str, ca_file: Path, script: str, *args: str) -> list[dict[str, Any]]:
    """Run a client script to its end (without blocking the loop the emulator runs on)."""
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(ca_file), "OPENAI_API_KEY": "sk-test"}
    proc = await asyncio.create_subprocess_exec(
        node,
        script,
        *args,
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "client error" not in err.decode(), err.decode()
    return [json.loads(line) for line in out.decode().splitlines() if line.strip()]


def deltas(events: list[dict[str, Any]], type_: str) -> str:
    return "".join(e["delta"] for e in events if e["type"] == type_)


@pytest.mark.parametrize("dialect", ["ga", "beta"])
@pytest.mark.parametrize("model_id", MODELS)
async def test_openai_npm_realtime_ws(
    node: str,
    certificate: tuple[Path, Path, Path],
    tmp_path: Path,
    model_id: str,
    dialect: str,
) -> None:
    chain, key, ca_file = certificate
    speech = tmp_path / "speech.pcm"
    # "Hello." at 24 kHz, cut after the tone: the button is released, the client commits.
    speech.write_bytes(utterance_pcm(0, sample_rate=24000)[: 24000 * 2 * 8 // 10])
    tls = ("--ssl-certfile", str(chain), "--ssl-keyfile", str(key))
    async with served_by_emulator(tmp_path, model_id, None, *tls) as served:
        base = f"https://localhost:{served.port}/v1"
        events = await run_node(
            node, ca_file, "openai_realtime.mjs", dialect, base, "nova", str(speech)
        )
    assert "listening on wss://" in served.stderr
    for event in events:
        validate(event, dialect)
    types = [e["type"] for e in events]
    assert "error" not in types
    text = "response.output_text.delta" if dialect == "ga" else "response.text.delta"
    dones = [e for e in events if e["type"] == "response.done"]
    assert [d["response"]["status"] for d in dones] == ["completed"] * 3
    # 1: the tool call, with an id OpenAI clients accept
    (call,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert call["name"] == "get_weather"
    assert len(call["call_id"]) <= 32
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    # 2: the answer from the tool's output; 3: push-to-talk, answered once, transcribed
    answers = [
        "".join(e["delta"] for e in events if e["type"] == text and e["response_id"] == rid)
        for rid in (d["response"]["id"] for d in dones[1:])
    ]
    assert "Sunny in Paris" in answers[0]
    assert answers[1] == "You said: Hello."
    (heard,) = [
        e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert heard["transcript"] == "Hello."
    # push-to-talk: the server announces no speech of its own and starts nothing itself
    assert "input_audio_buffer.speech_started" not in types
    assert types.count("response.created") == 3


@pytest.mark.parametrize("model_id", MODELS)
async def test_openai_agents_realtime(
    node: str, certificate: tuple[Path, Path, Path], tmp_path: Path, model_id: str
) -> None:
    chain, key, ca_file = certificate
    tls = ("--ssl-certfile", str(chain), "--ssl-keyfile", str(key))
    async with served_by_emulator(tmp_path, model_id, None, *tls) as served:
        url = f"wss://localhost:{served.port}/v1/realtime?model=nova"
        lines = await run_node(node, ca_file, "agents_realtime.mjs", url, "nova")
    *events, last = lines
    for event in events:
        validate(event, "ga")
    assert "error" not in {e["type"] for e in events}
    history = last["history"]
    calls = [i for i in history if i["type"] == "function_call"]
    assert [c["name"] for c in calls] == ["get_weather"]
    assert calls[0]["output"] == "Sunny in Paris"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert history[0]["role"] == "user"
    (call,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert len(call["call_id"]) <= 32
