"""Spend as the gateway records it, end to end: ``rtcore serve --config`` with a master key,
an OpenAI, an Azure OpenAI and an xAI model and ``--emulator``; a virtual key's sessions
(two spoken turns each, so the second re-reads a cached context) land in ``/spend/logs``
at each vendor's published prices for the usage it reported — tokens (cached input at
its own rate) for OpenAI and Azure, $0.05 per minute of audio for xAI."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import websockets
import yaml

from rtcore.provider import Prices
from rtcore.provider.messages import Usage
from rtcore_openai_emulator import silence_pcm, utterance_pcm
from tests.keys.conftest import Admin
from tests.transports.process import Served

MASTER = "sk-master-spend"
RATE = 24000
M = 1e-6
# Published prices (reference: developers.openai.com model pages, docs.x.ai), written out
# here rather than read from the provider, so a wrong table in the provider shows.
PUBLISHED = {
    "openai-voice": Prices(
        input_text=4.00 * M,
        output_text=24.00 * M,
        input_audio=32.00 * M,
        output_audio=64.00 * M,
        cached_input_text=0.40 * M,
        cached_input_audio=0.40 * M,
    ),
    # An Azure deployment of gpt-realtime (model_info.base_model), at OpenAI's prices.
    "azure-voice": Prices(
        input_text=4.00 * M,
        output_text=16.00 * M,
        input_audio=32.00 * M,
        output_audio=64.00 * M,
        cached_input_text=0.40 * M,
        cached_input_audio=0.40 * M,
    ),
    "xai-voice": Prices(input_audio_second=0.05 / 60),
}
MODELS = {
    "openai-voice": "openai/gpt-realtime-2",
    "azure-voice": "azure/voice-deployment",
    "xai-voice": "xai/grok-voice-think-fast-1.0",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = tmp_path_factory.mktemp("spend") / "config.yaml"
    entries: list[dict[str, Any]] = [
        {"model_name": name, "litellm_params": {"model": model}} for name, model in MODELS.items()
    ]
    entries[1]["model_info"] = {"base_model": "gpt-realtime"}
    config = {"model_list": entries, "general_settings": {"master_key": MASTER}}
    path.write_text(yaml.safe_dump(config))
    with Served("--config", str(path), "--emulator") as server:
        yield server
    assert "Traceback" not in server.stderr, server.stderr


async def _until_event(ws: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            event = json.loads(await ws.recv())
            assert event["type"] != "error", event
            if event["type"] == kind:
                return dict(event)


async def _spoken_turns(port: int, key: str, model: str) -> tuple[list[Usage], int]:
    """Two spoken turns; the usage each response.done reported, and the audio bytes sent."""
    url = f"ws://127.0.0.1:{port}/v1/realtime?model={model}"
    usages: list[Usage] = []
    sent = 0
    async with websockets.connect(url, additional_headers={"Authorization": f"Bearer {key}"}) as ws:
        await _until_event(ws, "session.created")
        # GA, as the openai SDK speaks it: "audio/pcm" is 24 kHz (an unsignalled beta
        # connection's "pcm16" would be read as 16 kHz, docs/audio.md).
        await ws.send(json.dumps({"type": "session.update", "session": {"type": "realtime"}}))
        await _until_event(ws, "session.updated")
        for slot in (0, 3):
            pcm = utterance_pcm(slot, sample_rate=RATE) + silence_pcm(0.5, sample_rate=RATE)
            sent += len(pcm)
            for i in range(0, len(pcm), 4800):
                chunk = base64.b64encode(pcm[i : i + 4800]).decode()
                await ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
            done = await _until_event(ws, "response.done")
            assert done["response"]["status"] == "completed", done
            u = done["response"]["usage"] or {}
            into = u.get("input_token_details") or {}
            out = u.get("output_token_details") or {}
            usages.append(
                Usage(
                    input_text_tokens=into.get("text_tokens", 0),
                    input_audio_tokens=into.get("audio_tokens", 0),
                    output_text_tokens=out.get("text_tokens", 0),
                    output_audio_tokens=out.get("audio_tokens", 0),
                    cached_tokens=into.get("cached_tokens", 0),
                    cached_audio_tokens=(into.get("cached_tokens_details") or {}).get(
                        "audio_tokens", 0
                    ),
                )
            )
    return usages, sent


def billed(u: Usage, p: Prices) -> float:
    """What the vendor bills for one response's usage, worked out here rather than by the
    gateway's pricing code: cached input tokens (``cached_tokens``, of which
    ``cached_audio_tokens`` audio) at the cached rates, the rest at the list rates."""
    assert p.cached_input_text is not None
    assert p.cached_input_audio is not None
    cached_text = u.cached_tokens - u.cached_audio_tokens
    return (
        (u.input_text_tokens - cached_text) * p.input_text
        + cached_text * p.cached_input_text
        + (u.input_audio_tokens - u.cached_audio_tokens) * p.input_audio
        + u.cached_audio_tokens * p.cached_input_audio
        + u.output_text_tokens * p.output_text
        + u.output_audio_tokens * p.output_audio
    )


@pytest.mark.parametrize("model", list(MODELS))
async def test_spend_logs_match_the_vendors_published_prices(served: Served, model: str) -> None:
    async with aiohttp.ClientSession() as http:
        admin = Admin(http, served.port, MASTER)
        key = await admin.generate(key_alias=f"spend-{model}")
        usages, sent = await _spoken_turns(served.port, key, model)

        async def logged() -> list[dict[str, Any]]:
            status, rows = await admin.get("/spend/logs", api_key=key)
            assert status == 200, rows
            return list(rows)

        async with asyncio.timeout(30):
            while not (rows := await logged()):  # noqa: ASYNC110 - the record is written at the end
                await asyncio.sleep(0.05)
    [row] = rows
    seconds_in = row["metadata"]["audio_seconds_in"]
    assert seconds_in == pytest.approx(sent / 2 / RATE)  # what the client sent, all of it
    prices = PUBLISHED[model]
    if model == "xai-voice":
        # Per minute of the audio sent; no tokens reported.
        assert not any(u.input_tokens or u.output_tokens for u in usages)
        expected = seconds_in * prices.input_audio_second
    else:
        expected = sum(billed(u, prices) for u in usages)
    assert expected > 0
    assert float(row["spend"]) == pytest.approx(expected, rel=1e-9)
    if model != "xai-voice":
        # The second turn re-read the first from the vendor's cache: at the cached rate.
        assert usages[1].cached_tokens > 0
        assert sum(u.input_tokens for u in usages) == row["prompt_tokens"]
