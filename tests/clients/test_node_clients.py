"""The Node clients, unmodified and with their defaults, against ``rtcore serve`` over
``wss://`` on each provider upstream (tests/clients/conftest.py): the openai npm package's
``OpenAIRealtimeWS`` (GA and beta; it always dials TLS) and ``@openai/agents-realtime``,
each with a text, a tool and a spoken turn.

The clients live in ``tests/clients/node`` (``package.json`` and its lock; ``make test``
runs ``npm ci`` there). Each script prints every raw server event as a JSON line; they are
validated here against the openai Python SDK's models, as a strict client would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from rtcore_sonic_emulator import utterance_pcm
from tests.clients.conftest import Upstream, serve_upstream, validate
from tests.transports.process import Served

NODE_DIR = Path(__file__).parent / "node"


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


@pytest.fixture(scope="module")
def served_tls(
    upstream: Upstream,
    certificate: tuple[Path, Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    chain, key, _ = certificate
    tls = ("--ssl-certfile", str(chain), "--ssl-keyfile", str(key))
    with serve_upstream(upstream, tmp_path_factory.mktemp(f"node-{upstream.id}"), *tls) as served:
        assert "listening on wss://" in served.stderr
        yield served


def speech_file(tmp_path: Path, slot: int, *, cut: bool) -> Path:
    """Utterance ``slot`` at 24 kHz; ``cut``: only up to just after the tone (the button is
    released there, the client commits), else with its trailing silence (the turn ends)."""
    pcm = utterance_pcm(slot, sample_rate=24000)
    path = tmp_path / "speech.pcm"
    path.write_bytes(pcm[: 24000 * 2 * 8 // 10] if cut else pcm)
    return path


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
async def test_openai_npm_realtime_ws(
    node: str,
    certificate: tuple[Path, Path, Path],
    served_tls: Served,
    upstream: Upstream,
    tmp_path: Path,
    dialect: str,
) -> None:
    base = f"https://localhost:{served_tls.port}/v1"
    speech = speech_file(tmp_path, 0, cut=True)
    events = await run_node(
        node, certificate[2], "openai_realtime.mjs", dialect, base, upstream.name, str(speech)
    )
    for event in events:
        validate(event, dialect)
    types = [e["type"] for e in events]
    assert "error" not in types
    text = "response.output_text.delta" if dialect == "ga" else "response.text.delta"
    dones = [e for e in events if e["type"] == "response.done"]
    assert [d["response"]["status"] for d in dones] == ["completed"] * 4
    answers = [
        "".join(e["delta"] for e in events if e["type"] == text and e["response_id"] == rid)
        for rid in (d["response"]["id"] for d in dones)
    ]
    # 1: a text turn
    assert answers[0] == upstream.reply("Hello there")
    # 2: the tool call, with an id OpenAI clients accept
    (call,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert call["name"] == "get_weather"
    assert len(call["call_id"]) <= 32
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert call["response_id"] == dones[1]["response"]["id"]
    # 3: the answer from the tool's output; 4: push-to-talk, answered once, transcribed
    assert "Sunny in Paris" in answers[2]
    assert answers[3] == upstream.reply(upstream.heard(0))
    (heard,) = [
        e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"
    ]
    assert heard["transcript"] == upstream.heard(0)
    # push-to-talk: the server announces no speech of its own and starts nothing itself
    assert "input_audio_buffer.speech_started" not in types
    assert types.count("response.created") == 4


def spoken(item: dict[str, Any]) -> str:
    """The text of a history item of @openai/agents-realtime (typed or transcribed)."""
    return "".join(
        part.get("text") or part.get("transcript") or "" for part in item.get("content", [])
    )


# Its default session asks for semantic_vad turn detection.
@pytest.mark.client_sends("semantic_vad", "@openai/agents-realtime")
async def test_openai_agents_realtime(
    node: str,
    certificate: tuple[Path, Path, Path],
    served_tls: Served,
    upstream: Upstream,
    tmp_path: Path,
) -> None:
    url = f"wss://localhost:{served_tls.port}/v1/realtime?model={upstream.name}"
    speech = speech_file(tmp_path, 0, cut=False)
    lines = await run_node(
        node, certificate[2], "agents_realtime.mjs", url, upstream.name, str(speech)
    )
    *events, last = lines
    for event in events:
        validate(event, "ga")
    assert "error" not in {e["type"] for e in events}
    history = last["history"]
    said = upstream.heard(0)
    turns = [(i["type"], i.get("role"), spoken(i)) for i in history if i["type"] == "message"]
    assert turns[:2] == [
        ("message", "user", "Hello there"),
        ("message", "assistant", upstream.reply("Hello there")),
    ]
    assert turns[2][:2] == ("message", "user")
    assert "Sunny in Paris" in turns[3][2]
    assert turns[4:] == [
        ("message", "user", said),
        ("message", "assistant", upstream.reply(said)),
    ]
    calls = [i for i in history if i["type"] == "function_call"]
    assert [c["name"] for c in calls] == ["get_weather"]
    assert calls[0]["output"] == "Sunny in Paris"
    assert json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    (call,) = [e for e in events if e["type"] == "response.function_call_arguments.done"]
    assert len(call["call_id"]) <= 32
