"""The otel callback end to end: a real ``rtcore serve`` (the echo provider), a real
WebSocket client, and a real OTLP/HTTP receiver on loopback decoding what the SDK's
exporter sends."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from websockets.asyncio.client import connect

from tests.otel.receiver import OtlpReceiver, ReceivedSpan
from tests.transports.process import Served, rtcore
from tests.transports.turns import send_turn, user_turn

MASTER = "sk-master-otel-test"
SPAN_KIND_SERVER = 2
SPAN_KIND_CLIENT = 3
STATUS_ERROR = 2


def write_config(tmp_path: Path, litellm_settings: dict[str, Any]) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model_list": [
                    {
                        "model_name": "voice",
                        "litellm_params": {"model": "echo/echo-1"},
                        "model_info": {
                            "input_cost_per_token": 0.000005,
                            "output_cost_per_token": 0.00002,
                        },
                    }
                ],
                "general_settings": {"master_key": MASTER},
                "litellm_settings": litellm_settings,
            }
        )
    )
    return config


@pytest.fixture
async def receiver() -> AsyncIterator[OtlpReceiver]:
    found = OtlpReceiver()
    await found.start()
    yield found
    await found.stop()


def otel_env(receiver: OtlpReceiver, tmp_path: Path) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-token=collector-secret",
        "OTEL_SERVICE_NAME": "voice-gateway",
        # Batches go out soon after a session ends rather than every 5 s (the test waits
        # for them to arrive either way).
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


async def conversation(
    port: int, key: str, texts: list[str]
) -> tuple[str, list[dict[str, Any]], list[str]]:
    """A session with one text turn per entry of ``texts``: its id, each ``response.done``
    and the text the model said."""
    url = f"ws://127.0.0.1:{port}/v1/realtime?model=voice"
    dones: list[dict[str, Any]] = []
    said: list[str] = []
    async with connect(
        url, proxy=None, additional_headers={"Authorization": f"Bearer {key}"}
    ) as ws:
        created = json.loads(await ws.recv())
        assert created["type"] == "session.created", created
        for text in texts:
            await send_turn(ws, user_turn(text, modalities=["text"]))
            async with asyncio.timeout(30):
                while (event := json.loads(await ws.recv()))["type"] != "response.done":
                    if event["type"] == "response.text.delta":
                        said.append(event["delta"])
            dones.append(event)
    return str(created["session"]["id"]), dones, said


async def generate_key(port: int, alias: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{port}/key/generate",
            json={"key_alias": alias},
            headers={"Authorization": f"Bearer {MASTER}"},
        ) as answer,
    ):
        body = await answer.json()
        assert answer.status == 200, body
        return str(body["key"])


def by_trace(spans: list[ReceivedSpan]) -> dict[str, list[ReceivedSpan]]:
    traces: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    return traces


def every_value(spans: list[ReceivedSpan]) -> str:
    return json.dumps(
        [[s.name, s.attributes, s.resource] for s in spans], default=repr, ensure_ascii=False
    )


async def test_each_session_is_one_trace_with_a_span_per_response(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, {"callbacks": ["otel", "prometheus"], "failure_callback": ["langfuse"]}
    )
    async with Served("--config", str(config), env=otel_env(receiver, tmp_path)) as served:
        key = await generate_key(served.port, "support-bot")
        first_id, first_dones, first_said = await conversation(
            served.port, key, ["What is the weather like?", "And tomorrow in Lisbon?"]
        )
        second_id, second_dones, _ = await conversation(served.port, MASTER, ["Hello there"])
        # Two sessions, three responses: five spans, however they are batched.
        spans = await receiver.wait_for_spans(5)
    assert len(receiver.spans) == 5, receiver.spans
    traces = by_trace(spans)
    assert len(traces) == 2

    sessions = {}
    for trace in traces.values():
        roots = [s for s in trace if not s.parent_span_id]
        assert len(roots) == 1, trace
        root = roots[0]
        sessions[root.attributes["rtcore.session.id"]] = (root, trace)
        for child in trace:
            if child is not root:
                assert child.parent_span_id == root.span_id
                assert root.start_ns <= child.start_ns <= child.end_ns <= root.end_ns
    assert set(sessions) == {first_id, second_id}

    root, trace = sessions[first_id]
    assert root.name == "realtime echo-1"
    assert root.kind == SPAN_KIND_SERVER
    assert root.status_code != STATUS_ERROR
    assert root.resource["service.name"] == "voice-gateway"
    attributes = root.attributes
    used_in = sum(d["response"]["usage"]["input_tokens"] for d in first_dones)
    used_out = sum(d["response"]["usage"]["output_tokens"] for d in first_dones)
    assert used_in > 0
    assert used_out > 0
    expected = {
        "gen_ai.operation.name": "realtime",
        "gen_ai.provider.name": "echo",
        "gen_ai.system": "echo",
        "gen_ai.request.model": "echo-1",
        "gen_ai.response.model": "echo-1",
        "gen_ai.conversation.id": first_id,
        "gen_ai.usage.input_tokens": used_in,
        "gen_ai.usage.output_tokens": used_out,
        "rtcore.session.id": first_id,
        "rtcore.model_group": "voice",
        "rtcore.deployment": "voice",
        "rtcore.provider": "echo",
        "rtcore.end_reason": "client_closed",
        "rtcore.key_alias": "support-bot",
        "rtcore.responses": 2,
    }
    assert {name: attributes.get(name) for name in expected} == expected
    assert attributes["rtcore.spend"] == pytest.approx(used_in * 0.000005 + used_out * 0.00002)
    for name in ("rtcore.audio.input_seconds", "rtcore.audio.output_seconds"):
        assert isinstance(attributes[name], float)
    assert "error.type" not in attributes

    responses = sorted((s for s in trace if s is not root), key=lambda s: s.start_ns)
    assert [s.attributes["gen_ai.response.id"] for s in responses] == [
        d["response"]["id"] for d in first_dones
    ]
    for span, done in zip(responses, first_dones, strict=True):
        usage = done["response"]["usage"]
        assert span.name == "chat echo-1"
        assert span.kind == SPAN_KIND_CLIENT
        assert span.attributes["gen_ai.operation.name"] == "chat"
        assert span.attributes["gen_ai.provider.name"] == "echo"
        assert span.attributes["gen_ai.request.model"] == "echo-1"
        assert span.attributes["gen_ai.conversation.id"] == first_id
        assert span.attributes["gen_ai.usage.input_tokens"] == usage["input_tokens"]
        assert span.attributes["gen_ai.usage.output_tokens"] == usage["output_tokens"]
        assert span.attributes["gen_ai.response.finish_reasons"] == ("completed",)
        assert span.attributes["rtcore.response.status"] == "completed"

    second_root, second_trace = sessions[second_id]
    assert len(second_trace) == 2
    assert "rtcore.key_alias" not in second_root.attributes  # the master key has no alias
    assert second_root.attributes["rtcore.responses"] == len(second_dones) == 1

    # Nothing said, nor any key, nor a key's hash, reaches a span.
    everything = every_value(spans)
    heard = "".join(first_said)
    assert heard
    for secret in (
        heard,
        "weather",
        "Lisbon",
        "Hello there",
        key,
        MASTER,
        hashlib.sha256(key.encode()).hexdigest(),
    ):
        assert secret not in everything
    # The exporter sent the collector's headers (OTEL_EXPORTER_OTLP_HEADERS).
    assert all(h.get("x-collector-token") == "collector-secret" for h in receiver.headers)

    # The callbacks no plugin serves are named once; the served ones are not.
    log = served.stderr
    assert (
        "litellm_settings callbacks langfuse: no installed plugin serves them; not applied "
        "(served: otel)\n" in log
    ), log
    assert log.count("litellm_settings") == 1, log
    assert "Traceback" not in log


async def test_no_trace_without_the_callback(receiver: OtlpReceiver, tmp_path: Path) -> None:
    config = write_config(tmp_path, {"callbacks": ["prometheus"]})
    async with Served("--config", str(config), env=otel_env(receiver, tmp_path)) as served:
        _, dones, _ = await conversation(served.port, MASTER, ["Hello there"])
        assert dones[-1]["response"]["status"] == "completed"
    # The server has exited: a tracer would have flushed its spans by now.
    assert served.proc.returncode == 0
    assert receiver.spans == []


def test_an_exporter_protocol_it_cannot_speak_stops_the_start(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"success_callback": ["otel"]})
    result = rtcore(
        "serve",
        "--config",
        str(config),
        "--port",
        "0",
        env={"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "XDG_DATA_HOME": str(tmp_path)},
    )
    assert result.returncode == 2
    assert (
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL='grpc': the otel callback exports OTLP over HTTP"
        in result.stderr
    ), result.stderr
    assert "Traceback" not in result.stderr


async def test_the_last_spans_are_flushed_when_serving_stops(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path, {"callbacks": ["otel"]})
    # No batch is due for ten minutes: what arrives was sent by the shutdown's flush.
    env = {**otel_env(receiver, tmp_path), "OTEL_BSP_SCHEDULE_DELAY": "600000"}
    async with Served("--config", str(config), env=env) as served:
        session_id, _, _ = await conversation(served.port, MASTER, ["Hello there"])
        assert receiver.spans == []
    assert served.proc.returncode == 0
    spans = await receiver.wait_for_spans(2, within=1)
    assert {s.attributes["rtcore.session.id"] for s in spans} == {session_id}


async def test_every_worker_exports_its_own_sessions(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path, {"callbacks": ["otel"]})
    async with Served(
        "--config", str(config), "--workers", "2", env=otel_env(receiver, tmp_path)
    ) as served:
        ids = [(await conversation(served.port, MASTER, ["Hello there"]))[0] for _ in range(4)]
        spans = await receiver.wait_for_spans(8)
    roots = [s for s in spans if not s.parent_span_id]
    assert sorted(str(s.attributes["rtcore.session.id"]) for s in roots) == sorted(ids)
    assert len(by_trace(spans)) == 4
    # Whichever worker served a session exported it, under the configured service.
    assert {s.resource["service.name"] for s in spans} == {"voice-gateway"}


async def test_what_the_model_said_only_when_content_is_asked_for(
    receiver: OtlpReceiver, tmp_path: Path
) -> None:
    config = write_config(tmp_path, {"callbacks": ["otel"]})
    hooked = tmp_path / "sessions.jsonl"
    env = {
        **otel_env(receiver, tmp_path),
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true",
        "RTCORE_ECHO_SESSION_LOG": str(hooked),
    }
    async with Served("--config", str(config), env=env) as served:
        session_id, dones, said = await conversation(
            served.port, MASTER, ["What is the weather like?", "And tomorrow?"]
        )
        spans = await receiver.wait_for_spans(3)
    responses = sorted((s for s in spans if s.parent_span_id), key=lambda s: s.start_ns)
    assert len(responses) == 2
    heard = [
        json.loads(str(s.attributes["gen_ai.output.messages"]))[0]["parts"][0]["content"]
        for s in responses
    ]
    assert "".join(heard) == "".join(said)
    assert heard[0].startswith("You said: What is the weather like?")
    assert json.loads(str(responses[0].attributes["gen_ai.output.messages"]))[0] == {
        "role": "assistant",
        "parts": [{"type": "text", "content": heard[0]}],
        "finish_reason": "completed",
    }
    root = next(s for s in spans if not s.parent_span_id)
    assert "weather" not in every_value([root])
    # Plugins' rtcore_session_ended gets the record without the text: only the callback
    # that asked for it has it.
    records = [json.loads(line) for line in hooked.read_text().splitlines()]
    assert [r["request_id"] for r in records] == [session_id]
    assert [r["response_id"] for r in records[0]["responses"]] == [
        d["response"]["id"] for d in dones
    ]
    assert "weather" not in hooked.read_text()
