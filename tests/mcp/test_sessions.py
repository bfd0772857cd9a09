"""MCP tools run by the gateway, for models that know only function tools: the official
``openai`` SDK's GA client against ``rtcore serve`` on Nova Sonic (its emulator), Gemini
Live and the OpenAI-protocol upstream (``--emulator``), with a real MCP server
(tests/mcp/mcp_server.py) on loopback.

The emulators call a tool when the user's words match its description, and answer "The
<tool> tool returned <output>" (rtcore_emulated_speech). Every event is validated against
the SDK's model of its type; those of MCP, and MCP items wherever they appear, with no field
the SDK does not define.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pydantic
import pytest
from openai import AsyncOpenAI

from rtcore_sonic_emulator import utterance_pcm
from tests.clients.conftest import GEMINI, NOVA_2, OPENAI, Upstream, serve_upstream, validate
from tests.clients.test_openai_sdk import deltas, user_text
from tests.core.test_sdk_shapes import GA
from tests.transports.process import Served

from .conftest import TOKEN, McpServers, free_port

RATE = 24000
CALL_TIMEOUT = 10
FORECAST = "Sunny in Paris, 21 degrees"


def no_extra_fields(value: object, where: str) -> None:
    """Every model in ``value`` holds only fields the SDK defines (its models keep any
    other field aside, in ``model_extra``)."""
    if isinstance(value, pydantic.BaseModel):
        assert not value.model_extra, (
            f"{where}: fields the SDK does not define: {value.model_extra}"
        )
        for name in type(value).model_fields:
            no_extra_fields(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            no_extra_fields(inner, f"{where}[{i}]")


def is_mcp(event: dict[str, Any]) -> bool:
    item = event.get("item") or {}
    return "mcp" in event["type"] or str(item.get("type", "")).startswith("mcp_")


def strict(event: dict[str, Any]) -> None:
    validate(event, "ga")
    model = GA[event["type"]].model_validate(event)
    if is_mcp(event):
        no_extra_fields(model, event["type"])
    if event["type"] == "response.done":
        for i, item in enumerate(model.response.output or []):  # type: ignore[attr-defined]
            if str(getattr(item, "type", "")).startswith("mcp_"):
                no_extra_fields(item, f"response.done.output[{i}]")


class Session:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.events: list[dict[str, Any]] = []

    async def until(self, type_: str, count: int = 1) -> list[dict[str, Any]]:
        """Events up to and including the ``count``-th next ``type_``."""
        got: list[dict[str, Any]] = []
        seen = 0
        async with asyncio.timeout(60):  # a safety net only
            while seen < count:
                raw = await self.conn.recv_bytes()
                event = json.loads(raw)
                strict(event)
                assert self.conn.parse_event(raw).type == event["type"]
                got.append(event)
                seen += event["type"] == type_
        self.events += got
        return got

    async def configure(self, *tools: dict[str, Any], **fields: Any) -> list[dict[str, Any]]:
        """The session with these MCP tools, once each server's listing is over."""
        session = {"type": "realtime", "output_modalities": ["text"], "tools": list(tools)}
        await self.conn.session.update(session={**session, **fields})
        events = await self.until("session.updated")
        if tools:
            events += await self.until("conversation.item.done", count=len(tools))
        return events

    async def ask(self, text: str) -> list[dict[str, Any]]:
        await self.conn.conversation.item.create(item=user_text(text))
        await self.conn.response.create()
        return await self.until("response.done")


@asynccontextmanager
async def connect(served: Served, upstream: Upstream) -> AsyncIterator[Session]:
    client = AsyncOpenAI(api_key="sk-test", websocket_base_url=f"ws://127.0.0.1:{served.port}/v1")
    async with client.realtime.connect(model=upstream.name) as conn:
        session = Session(conn)
        await session.until("session.created")
        yield session
    await client.close()


@pytest.fixture(scope="module", params=[NOVA_2, GEMINI, OPENAI], ids=str)
def upstream(request: pytest.FixtureRequest) -> Upstream:
    up: Upstream = request.param
    return up


@pytest.fixture(scope="module")
def served(
    upstream: Upstream, mcp_servers: McpServers, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    sections = {
        "mcp_servers": {
            "ops": {
                "url": mcp_servers.secure_url,
                "transport": "http",
                "auth_type": "bearer_token",
                "authentication_token": TOKEN,
                "description": "The operator's tools",
            }
        },
        "general_settings": {"mcp_call_timeout": CALL_TIMEOUT},
    }
    where = tmp_path_factory.mktemp(f"mcp-{upstream.id}")
    with serve_upstream(upstream, where, sections=sections) as served:
        yield served
    assert TOKEN not in served.stderr  # the operator's credentials never reach the log


def mcp(label: str, url: str | None = None, **fields: Any) -> dict[str, Any]:
    tool = {"type": "mcp", "server_label": label, **fields}
    return tool if url is None else {**tool, "server_url": url}


def of_type(events: list[dict[str, Any]], type_: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_]


def the_call(events: list[dict[str, Any]]) -> dict[str, Any]:
    (done,) = [
        e for e in of_type(events, "response.output_item.done") if e["item"]["type"] == "mcp_call"
    ]
    return dict(done["item"])


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
async def test_typed_turn_calls_an_mcp_tool(
    served: Served, upstream: Upstream, mcp_servers: McpServers, transport: str
) -> None:
    url = mcp_servers.http_url if transport == "streamable_http" else mcp_servers.sse_url
    async with connect(served, upstream) as s:
        listed = await s.configure(mcp("weather", url, require_approval="never"))
        types = [e["type"] for e in listed]
        assert types.index("session.updated") < types.index("mcp_list_tools.in_progress")
        assert types.index("mcp_list_tools.in_progress") < types.index("mcp_list_tools.completed")
        (added,) = [e for e in listed if e["type"] == "conversation.item.added"]
        assert added["item"]["type"] == "mcp_list_tools"
        assert added["item"]["tools"] == []
        item = of_type(listed, "conversation.item.done")[-1]["item"]
        assert item["server_label"] == "weather"
        names = {t["name"] for t in item["tools"]}
        assert names == {
            "get_forecast",
            "shred_document",
            "slow_census",
            "launch_rocket",
            "giant_almanac",
        }
        forecast = next(t for t in item["tools"] if t["name"] == "get_forecast")
        assert forecast["annotations"]["readOnlyHint"] is True
        updated = of_type(listed, "session.updated")[-1]["session"]
        assert updated["tools"] == [{"type": "mcp", "server_label": "weather", "server_url": url}]

        first = await s.ask("What is the weather forecast for Paris?")
        kinds = [e["type"] for e in first]
        order = [
            "response.output_item.added",
            "response.mcp_call_arguments.delta",
            "response.mcp_call_arguments.done",
            "response.mcp_call.in_progress",
            "response.mcp_call.completed",
            "response.output_item.done",
            "response.done",
        ]
        assert [k for k in kinds if k in order] == order
        assert not [k for k in kinds if k.startswith("response.function_call")]
        call = the_call(first)
        assert (call["name"], call["server_label"]) == ("get_forecast", "weather")
        assert json.loads(call["arguments"]) == {"city": "Paris"}
        assert call["output"] == FORECAST
        assert call["error"] is None
        assert first[-1]["response"]["status"] == "completed"
        assert [o["type"] for o in first[-1]["response"]["output"]] == ["mcp_call"]

        # The reply goes on by itself: a response the gateway asked for, using the output.
        reply = await s.until("response.done")
    said = deltas(reply, "response.output_text.delta")
    # (Nova's provider hands a text output to the model as {"result": ...}.)
    assert said.startswith("The get_forecast tool returned")
    assert FORECAST in said
    assert reply[-1]["response"]["status"] == "completed"
    assert "error" not in [e["type"] for e in s.events]


async def test_spoken_turn_calls_an_mcp_tool(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    """Utterance 1 ("What is the weather like in Paris?"), heard by server VAD."""
    async with connect(served, upstream) as s:
        await s.configure(
            mcp("weather", mcp_servers.http_url, require_approval="never"),
            output_modalities=["audio"],
            audio={"input": {"turn_detection": {"type": "server_vad"}}},
        )
        pcm = utterance_pcm(1, sample_rate=RATE)
        step = RATE // 10 * 2
        for i in range(0, len(pcm), step):
            chunk = pcm[i : i + step]
            await s.conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        first = await s.until("response.done")
        call = the_call(first)
        assert call["name"] == "get_forecast"
        assert call["output"] == FORECAST
        reply = await s.until("response.done")
    spoken = deltas(reply, "response.output_audio_transcript.delta")
    assert spoken.startswith("The get_forecast tool returned")
    assert FORECAST in spoken
    assert of_type(reply, "response.output_audio.delta")


async def test_operator_server_by_label_without_credentials(
    served: Served, upstream: Upstream
) -> None:
    async with connect(served, upstream) as s:
        listed = await s.configure(mcp("ops", require_approval="never"))
        updated = of_type(listed, "session.updated")[-1]["session"]
        # The operator's URL and token are not the client's to see.
        assert updated["tools"] == [
            {"type": "mcp", "server_label": "ops", "server_description": "The operator's tools"}
        ]
        assert TOKEN not in json.dumps(s.events)
        first = await s.ask("What is the weather forecast for Paris?")
        assert the_call(first)["output"] == FORECAST
        reply = await s.until("response.done")
    assert FORECAST in deltas(reply, "response.output_text.delta")


async def test_an_unknown_label_without_url_is_refused_and_the_session_goes_on(
    served: Served, upstream: Upstream
) -> None:
    async with connect(served, upstream) as s:
        await s.conn.session.update(
            session={"type": "realtime", "tools": [mcp("nowhere")], "output_modalities": ["text"]}
        )
        (error,) = of_type(await s.until("error"), "error")
        assert error["error"]["param"] == "session.tools[0].server_url"
        assert "ops" in error["error"]["message"]  # the servers this key may use
        await s.configure()
        reply = await s.ask("Hello there")
    assert deltas(reply, "response.output_text.delta") == upstream.reply("Hello there")


async def test_approval_granted_then_refused(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    async with connect(served, upstream) as s:
        await s.configure(mcp("weather", mcp_servers.http_url, require_approval="always"))
        asked = await s.ask("What is the weather forecast for Paris?")
        (request,) = [
            e["item"]
            for e in of_type(asked, "response.output_item.done")
            if e["item"]["type"] == "mcp_approval_request"
        ]
        assert request["name"] == "get_forecast"
        assert request["server_label"] == "weather"
        assert not of_type(asked, "response.mcp_call.in_progress")  # nothing ran yet

        await s.conn.conversation.item.create(
            item={
                "type": "mcp_approval_response",
                "approval_request_id": request["id"],
                "approve": True,
            }
        )
        ran = await s.until("response.done")
        call = the_call(ran)
        assert call["approval_request_id"] == request["id"]
        assert call["output"] == FORECAST
        reply = await s.until("response.done")
        assert FORECAST in deltas(reply, "response.output_text.delta")

        asked = await s.ask("What is the weather forecast for Rome?")
        (request,) = [
            e["item"]
            for e in of_type(asked, "response.output_item.done")
            if e["item"]["type"] == "mcp_approval_request"
        ]
        await s.conn.conversation.item.create(
            item={
                "type": "mcp_approval_response",
                "approval_request_id": request["id"],
                "approve": False,
                "reason": "not now",
            }
        )
        refused = await s.until("response.done")
    assert not of_type(refused, "response.mcp_call.in_progress")
    text = deltas(refused, "response.output_text.delta")
    assert "declined" in text
    assert "not now" in text
    assert "Sunny" not in text


async def test_allowed_tools_and_approval_filters(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    async with connect(served, upstream) as s:
        listed = await s.configure(
            mcp("by_name", mcp_servers.http_url, allowed_tools=["shred_document"]),
            mcp(
                "read_only",
                mcp_servers.sse_url,
                allowed_tools={"read_only": True},
                require_approval={"never": {"read_only": True}},
            ),
        )
        done = {
            e["item"]["server_label"]: e["item"] for e in of_type(listed, "conversation.item.done")
        }
        assert [t["name"] for t in done["by_name"]["tools"]] == ["shred_document"]
        assert [t["name"] for t in done["read_only"]["tools"]] == ["get_forecast"]
        # A read-only tool the never filter matches runs at once...
        first = await s.ask("What is the weather forecast for Paris?")
        assert the_call(first)["server_label"] == "read_only"
        await s.until("response.done")
        # ...one the filter leaves out waits for the client's approval (OpenAI's default).
        asked = await s.ask("Shred the Budget document.")
    items = [e["item"]["type"] for e in of_type(asked, "response.output_item.done")]
    assert items == ["mcp_approval_request"]


async def test_failures_are_clear_events_and_the_session_goes_on(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    down = f"http://127.0.0.1:{free_port()}/mcp"
    async with connect(served, upstream) as s:
        listed = await s.configure(
            mcp("down", down, require_approval="never"),
            mcp("tools", mcp_servers.http_url, require_approval="never"),
        )
        failed = of_type(listed, "mcp_list_tools.failed")
        assert len(failed) == 1
        (error,) = of_type(listed, "error")
        assert error["error"]["code"] == "mcp_list_tools_failed"
        assert "'down'" in error["error"]["message"]
        assert "http_error 503" in error["error"]["message"]

        for question, tool, kind, words in [
            (
                "Please launch a rocket toward Mars.",
                "launch_rocket",
                "tool_execution_error",
                "the launch pad is on fire",
            ),
            (
                "Print the almanac for 1999.",
                "giant_almanac",
                "tool_execution_error",
                "1048576 bytes",
            ),
        ]:
            first = await s.ask(question)
            assert of_type(first, "response.mcp_call.failed")
            call = the_call(first)
            assert call["name"] == tool
            assert call["output"] is None
            assert call["error"]["type"] == kind
            assert words in call["error"]["message"]
            reply = await s.until("response.done")
            assert words in deltas(reply, "response.output_text.delta")
        reply = await s.ask("Hello there")
    assert deltas(reply, "response.output_text.delta") == upstream.reply("Hello there")


async def test_a_slow_server_delays_only_its_own_reply(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    async with connect(served, upstream) as slow, connect(served, upstream) as other:
        await slow.configure(mcp("tools", mcp_servers.http_url, require_approval="never"))
        await slow.conn.conversation.item.create(
            item=user_text("Count the population of the Alps region.")
        )
        await slow.conn.response.create()
        started = await slow.until("response.mcp_call.in_progress")
        # The session itself still answers while its call runs (nothing waits on it but
        # the reply)...
        asked = next(e for e in started if e["type"] == "conversation.item.added")
        await slow.conn.conversation.item.retrieve(item_id=asked["item"]["id"])
        retrieved = await slow.until("conversation.item.retrieved")
        assert not of_type(retrieved, "response.mcp_call.failed")
        # ...and another session, meanwhile, is answered in full.
        await other.configure()
        answered = await other.ask("Hello there")
        assert deltas(answered, "response.output_text.delta") == upstream.reply("Hello there")
        first = await slow.until("response.done")
        assert of_type(first, "response.mcp_call.failed")
        call = the_call(first)
        assert call["error"]["type"] == "http_error"
        assert call["error"]["code"] == 504
        assert f"{CALL_TIMEOUT} s" in call["error"]["message"]
        reply = await slow.until("response.done")
        assert "did not answer" in deltas(reply, "response.output_text.delta")
        # The mcp_call failed event came only after the other session's whole reply.
        assert not of_type(other.events, "error")


async def test_the_clients_credentials_reach_the_server_only(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    async with connect(served, upstream) as s:
        listed = await s.configure(
            mcp("mine", mcp_servers.secure_url, authorization=TOKEN, require_approval="never"),
            mcp("tokenless", mcp_servers.secure_url),
        )
        done = {e["item"]["server_label"]: e for e in of_type(listed, "conversation.item.done")}
        assert done["mine"]["item"]["tools"]
        assert done["tokenless"]["item"]["tools"] == []
        (error,) = of_type(listed, "error")
        assert "'tokenless'" in error["error"]["message"]
        assert "http_error 401" in error["error"]["message"]
        # Shown back without the token (and the server fixture finds none in the log).
        assert TOKEN not in json.dumps(of_type(listed, "session.updated"))
        first = await s.ask("What is the weather forecast for Paris?")
        assert the_call(first)["output"] == FORECAST
        await s.until("response.done")


async def test_mcp_items_can_be_retrieved_and_deleted(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    async with connect(served, upstream) as s:
        listed = await s.configure(mcp("weather", mcp_servers.http_url, require_approval="never"))
        tools_item = of_type(listed, "conversation.item.done")[-1]["item"]
        call = the_call(await s.ask("What is the weather forecast for Paris?"))
        await s.until("response.done")
        await s.conn.conversation.item.retrieve(item_id=call["id"])
        (retrieved,) = of_type(
            await s.until("conversation.item.retrieved"), "conversation.item.retrieved"
        )
        assert retrieved["item"] == call
        for item in (call, tools_item):
            await s.conn.conversation.item.delete(item_id=item["id"])
            deleted = await s.until("conversation.item.deleted")
            assert deleted[-1]["item_id"] == item["id"]
        reply = await s.ask("Hello there")
    assert deltas(reply, "response.output_text.delta") == upstream.reply("Hello there")
    assert "error" not in [e["type"] for e in s.events]


async def census_counts(mcp_servers: McpServers, region: str) -> dict[str, int]:
    """What the MCP server did with ``region``'s census calls: started, cancelled."""
    url = f"http://127.0.0.1:{mcp_servers.http}/census"
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        counts: dict[str, dict[str, int]] = await answer.json()
    return counts.get(region, {"started": 0, "cancelled": 0})


async def census_reaches(mcp_servers: McpServers, region: str, **wanted: int) -> None:
    """Wait until the MCP server's counts for ``region`` are ``wanted``."""
    async with asyncio.timeout(60):  # a safety net only
        while True:
            counts = await census_counts(mcp_servers, region)
            if all(counts[k] == v for k, v in wanted.items()):
                return
            await asyncio.sleep(0.05)


def stopped_call(events: list[dict[str, Any]], why: str) -> dict[str, Any]:
    """The mcp_call a cancelled response stopped: failed (its event before the item's
    done), an error saying ``why``, the response cancelled."""
    kinds = [e["type"] for e in events]
    order = ["response.mcp_call.failed", "response.output_item.done", "response.done"]
    assert [k for k in kinds if k in order] == order
    assert "response.mcp_call.completed" not in kinds
    call = the_call(events)
    assert call["output"] is None
    assert call["error"]["type"] == "tool_execution_error"
    assert f"The call was cancelled: {why}" in call["error"]["message"]
    (failed,) = of_type(events, "response.mcp_call.failed")
    assert failed["item_id"] == call["id"]
    return call


async def session_goes_on(s: Session, upstream: Upstream) -> None:
    """After a stopped call, the next typed turns are answered."""
    first = deltas(await s.ask("Hello there"), "response.output_text.delta")
    if upstream == OPENAI:
        # The failed call is context: the model answers the user.
        assert first == upstream.reply("Hello there")
    else:
        # Nova's and Gemini's streams take a tool's result before anything else and
        # resume their turn with it: the next reply speaks of the stopped call.
        assert first.startswith("The slow_census tool returned")
        assert "The call was cancelled" in first
    second = await s.ask("Hello again")
    assert deltas(second, "response.output_text.delta") == upstream.reply("Hello again")
    assert "error" not in [e["type"] for e in s.events]


async def test_a_cancelled_response_stops_its_mcp_call(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    region = "Tatra"
    before = await census_counts(mcp_servers, region)
    async with connect(served, upstream) as s:
        await s.configure(mcp("tools", mcp_servers.http_url, require_approval="never"))
        await s.conn.conversation.item.create(
            item=user_text(f"Count the population of the {region} region.")
        )
        await s.conn.response.create()
        started = await s.until("response.mcp_call.in_progress")
        (created,) = of_type(started, "response.created")
        # The call reached the server: cancelled now, it runs there until stopped.
        await census_reaches(mcp_servers, region, started=before["started"] + 1)
        await s.conn.response.cancel()
        ended = await s.until("response.done")
        stopped_call(ended, "the client cancelled its response")
        done = ended[-1]["response"]
        assert done["id"] == created["response"]["id"]
        assert done["status"] == "cancelled"
        assert done["status_details"]["reason"] == "client_cancelled"
        # The gateway's call was stopped, and so was the tool on the server.
        await census_reaches(mcp_servers, region, cancelled=before["cancelled"] + 1)
        # Nothing answers the stopped call by itself; the session goes on.
        await session_goes_on(s, upstream)


async def test_an_approved_call_stops_with_its_cancelled_response(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    region = "Pamir"
    before = await census_counts(mcp_servers, region)
    async with connect(served, upstream) as s:
        await s.configure(mcp("tools", mcp_servers.http_url, require_approval="always"))
        asked = await s.ask(f"Count the population of the {region} region.")
        (request,) = [
            e["item"]
            for e in of_type(asked, "response.output_item.done")
            if e["item"]["type"] == "mcp_approval_request"
        ]
        await s.conn.conversation.item.create(
            item={
                "type": "mcp_approval_response",
                "approval_request_id": request["id"],
                "approve": True,
            }
        )
        started = await s.until("response.mcp_call.in_progress")
        (created,) = of_type(started, "response.created")
        await census_reaches(mcp_servers, region, started=before["started"] + 1)
        await s.conn.response.cancel(response_id=created["response"]["id"])
        ended = await s.until("response.done")
        call = stopped_call(ended, "the client cancelled its response")
        assert call["approval_request_id"] == request["id"]
        assert ended[-1]["response"]["status"] == "cancelled"
        await census_reaches(mcp_servers, region, cancelled=before["cancelled"] + 1)
        await session_goes_on(s, upstream)


async def test_speaking_over_a_reply_stops_its_mcp_call(
    served: Served, upstream: Upstream, mcp_servers: McpServers
) -> None:
    """Barge-in: utterance 3 ("Thank you, goodbye.") while the reply waits on its call."""
    region = "Atlas"
    before = await census_counts(mcp_servers, region)
    async with connect(served, upstream) as s:
        await s.configure(
            mcp("tools", mcp_servers.http_url, require_approval="never"),
            output_modalities=["audio"],
            audio={"input": {"turn_detection": {"type": "server_vad"}}},
        )
        await s.conn.conversation.item.create(
            item=user_text(f"Count the population of the {region} region.")
        )
        await s.conn.response.create()
        started = await s.until("response.mcp_call.in_progress")
        (created,) = of_type(started, "response.created")
        await census_reaches(mcp_servers, region, started=before["started"] + 1)
        pcm = utterance_pcm(3, sample_rate=RATE)
        step = RATE // 10 * 2
        for i in range(0, len(pcm), step):
            chunk = pcm[i : i + step]
            await s.conn.input_audio_buffer.append(audio=base64.b64encode(chunk).decode())
        ended = await s.until("response.done")
        assert of_type(ended, "input_audio_buffer.speech_started")
        stopped_call(ended, "the user spoke over its response")
        done = ended[-1]["response"]
        assert done["id"] == created["response"]["id"]
        assert done["status"] == "cancelled"
        assert done["status_details"]["reason"] == "turn_detected"
        await census_reaches(mcp_servers, region, cancelled=before["cancelled"] + 1)
        # The spoken turn is answered, as any other.
        reply = await s.until("response.done")
    assert reply[-1]["response"]["status"] == "completed"
    spoken = deltas(reply, "response.output_audio_transcript.delta")
    assert spoken == upstream.reply(upstream.heard(3))
    assert "error" not in [e["type"] for e in s.events]
