"""MCP tools the vendor runs (``litellm_params.mcp_passthrough`` on an OpenAI deployment):
the official ``openai`` SDK's GA client against ``rtcore serve --emulator``, whose OpenAI
emulator connects to the real MCP server (tests/mcp/mcp_server.py) itself, lists its
tools and runs the calls. Every event is validated against the SDK's model of its type, MCP
ones with no field the SDK does not define (tests/mcp/test_sessions.py's ``Session``).

Whose item is whose: the emulator names its MCP items ``mcpl_`` (listings), ``mcp_``
(calls) and ``mcpr_`` (approval requests); the gateway names the items of the calls it runs
``item_``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from openai import AsyncOpenAI

from rtcore.provider import ModelConfig
from rtcore.provider.messages import SessionConfig
from rtcore.provider.remote_tools import RemoteMcpServer
from rtcore_openai_realtime.provider import OpenAIRealtimeProvider
from tests.clients.conftest import write_config
from tests.clients.test_openai_sdk import deltas, user_text
from tests.keys.conftest import MASTER, Admin
from tests.transports.process import Served

from .conftest import TOKEN, McpServers, free_port
from .test_sessions import (
    FORECAST,
    Session,
    census_counts,
    census_reaches,
    mcp,
    of_type,
    the_call,
)

MODEL = "openai/gpt-realtime-2"
PASS = "openai-pass"
GATEWAY = "openai-gateway"


def deployments() -> list[dict[str, object]]:
    return [
        {
            "model_name": PASS,
            "litellm_params": {"model": MODEL, "mcp_passthrough": True},
            "model_info": {"mode": "realtime"},
        },
        {
            "model_name": GATEWAY,
            "litellm_params": {"model": MODEL},
            "model_info": {"mode": "realtime"},
        },
    ]


def operator_servers(mcp_servers: McpServers, **ops: object) -> dict[str, object]:
    return {
        "ops": {
            "url": mcp_servers.secure_url,
            "auth_type": "bearer_token",
            "authentication_token": TOKEN,
            "description": "The operator's tools",
            **ops,
        },
        "open": {"url": mcp_servers.http_url},
    }


@asynccontextmanager
async def serve(where: Path, sections: dict[str, object]) -> AsyncIterator[Served]:
    config = write_config(where / "config.yaml", deployments(), extra=sections)
    env = {"XDG_CACHE_HOME": str(where / "cache"), "XDG_DATA_HOME": str(where / "data")}
    async with Served("--config", str(config), "--emulator", env=env) as served:
        yield served
    assert "Traceback" not in served.stderr, served.stderr
    # The operator's token went to the vendor, never to a log line.
    assert TOKEN not in served.stderr


@pytest.fixture(scope="module")
def served(mcp_servers: McpServers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    where = tmp_path_factory.mktemp("mcp-pass")
    config = write_config(
        where / "config.yaml",
        deployments(),
        extra={"mcp_servers": operator_servers(mcp_servers)},
    )
    env = {"XDG_CACHE_HOME": str(where / "cache")}
    with Served("--config", str(config), "--emulator", env=env) as served:
        yield served
    assert "Traceback" not in served.stderr, served.stderr
    assert TOKEN not in served.stderr


@asynccontextmanager
async def connect(served: Served, model: str, key: str = "sk-test") -> AsyncIterator[Session]:
    client = AsyncOpenAI(api_key=key, websocket_base_url=f"ws://127.0.0.1:{served.port}/v1")
    async with client.realtime.connect(model=model) as conn:
        session = Session(conn)
        await session.until("session.created")
        yield session
    await client.close()


def requests_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e["item"]
        for e in of_type(events, "response.output_item.done")
        if e["item"]["type"] == "mcp_approval_request"
    ]


CALL_ORDER = [
    "response.output_item.added",
    "response.mcp_call_arguments.delta",
    "response.mcp_call_arguments.done",
    "response.mcp_call.in_progress",
    "response.mcp_call.completed",
    "response.output_item.done",
    "response.done",
]


async def test_the_vendor_lists_and_runs_the_call(served: Served, mcp_servers: McpServers) -> None:
    async with connect(served, PASS) as s:
        listed = await s.configure(mcp("weather", mcp_servers.http_url, require_approval="never"))
        types = [e["type"] for e in listed]
        assert types.index("session.updated") < types.index("mcp_list_tools.in_progress")
        assert types.index("mcp_list_tools.in_progress") < types.index("mcp_list_tools.completed")
        assert types.index("mcp_list_tools.completed") < types.index("conversation.item.done")
        (added,) = of_type(listed, "conversation.item.added")
        assert added["item"]["type"] == "mcp_list_tools"
        assert added["item"]["id"].startswith("mcpl_")  # the vendor's listing
        assert added["item"]["tools"] == []
        item = of_type(listed, "conversation.item.done")[-1]["item"]
        assert item["id"] == added["item"]["id"]
        assert "get_forecast" in {t["name"] for t in item["tools"]}
        updated = of_type(listed, "session.updated")[-1]["session"]
        assert updated["tools"] == [
            {"type": "mcp", "server_label": "weather", "server_url": mcp_servers.http_url}
        ]

        first = await s.ask("What is the weather forecast for Paris?")
        kinds = [e["type"] for e in first]
        assert [k for k in kinds if k in CALL_ORDER] == CALL_ORDER
        assert not [k for k in kinds if k.startswith("response.function_call")]
        call = the_call(first)
        assert call["id"].startswith("mcp_")  # the vendor ran it
        assert (call["name"], call["server_label"]) == ("get_forecast", "weather")
        assert json.loads(call["arguments"]) == {"city": "Paris"}
        assert call["output"] == FORECAST
        assert call["error"] is None
        (added_call,) = [
            e for e in of_type(first, "conversation.item.added") if e["item"]["type"] == "mcp_call"
        ]
        assert added_call["item"]["arguments"] == ""
        assert [o["type"] for o in first[-1]["response"]["output"]] == ["mcp_call"]
        reply = await s.until("response.done")
    said = deltas(reply, "response.output_text.delta")
    assert said.startswith("The get_forecast tool returned")
    assert FORECAST in said
    assert "error" not in [e["type"] for e in s.events]


async def test_the_vendor_reaches_an_sse_server(served: Served, mcp_servers: McpServers) -> None:
    """A server on the older HTTP+SSE transport, passed through as it is: the vendor lists
    and calls it, the client sees the same events as over streamable HTTP."""
    async with connect(served, PASS) as s:
        listed = await s.configure(mcp("weather", mcp_servers.sse_url, require_approval="never"))
        assert of_type(listed, "mcp_list_tools.completed")
        item = of_type(listed, "conversation.item.done")[-1]["item"]
        assert "get_forecast" in {t["name"] for t in item["tools"]}
        first = await s.ask("What is the weather forecast for Paris?")
        assert [k for k in (e["type"] for e in first) if k in CALL_ORDER] == CALL_ORDER
        call = the_call(first)
        assert call["id"].startswith("mcp_")  # the vendor ran it
        assert call["output"] == FORECAST
        await s.until("response.done")
    assert "error" not in [e["type"] for e in s.events]


async def test_a_server_the_vendor_cannot_list_fails_alone(
    served: Served, mcp_servers: McpServers
) -> None:
    """The vendor's failed listing reaches the client as its own item, failed and done with
    no tools; the other server is listed and its tool runs."""
    down = f"http://127.0.0.1:{free_port()}/mcp"
    async with connect(served, PASS) as s:
        listed = await s.configure(
            mcp("down", down, require_approval="never"),
            mcp("weather", mcp_servers.http_url, require_approval="never"),
        )
        added = {
            e["item"]["server_label"]: e["item"]["id"]
            for e in of_type(listed, "conversation.item.added")
            if e["item"]["type"] == "mcp_list_tools"
        }
        assert set(added) == {"down", "weather"}
        (failed,) = of_type(listed, "mcp_list_tools.failed")
        assert failed["item_id"] == added["down"]
        (completed,) = of_type(listed, "mcp_list_tools.completed")
        assert completed["item_id"] == added["weather"]
        done = {e["item"]["id"]: e["item"] for e in of_type(listed, "conversation.item.done")}
        assert done[added["down"]]["tools"] == []
        assert "get_forecast" in {t["name"] for t in done[added["weather"]]["tools"]}
        first = await s.ask("What is the weather forecast for Paris?")
        assert the_call(first)["output"] == FORECAST
        await s.until("response.done")


async def test_approval_granted_then_refused(served: Served, mcp_servers: McpServers) -> None:
    async with connect(served, PASS) as s:
        await s.configure(mcp("weather", mcp_servers.http_url))  # OpenAI's default: always
        asked = await s.ask("What is the weather forecast for Paris?")
        (request,) = requests_of(asked)
        assert request["id"].startswith("mcpr_")
        assert (request["name"], request["server_label"]) == ("get_forecast", "weather")
        assert not of_type(asked, "response.mcp_call.in_progress")  # nothing ran yet

        await s.conn.conversation.item.create(
            item={
                "type": "mcp_approval_response",
                "approval_request_id": request["id"],
                "approve": True,
            }
        )
        ran = await s.until("response.done")
        answer = of_type(ran, "conversation.item.done")[0]["item"]
        assert answer["type"] == "mcp_approval_response"
        assert answer["approve"] is True
        call = the_call(ran)
        assert call["id"].startswith("mcp_")
        assert call["approval_request_id"] == request["id"]
        assert call["output"] == FORECAST
        reply = await s.until("response.done")
        assert FORECAST in deltas(reply, "response.output_text.delta")

        asked = await s.ask("What is the weather forecast for Rome?")
        (request,) = requests_of(asked)
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
        assert "Sunny" not in text

        # An answer to a request no longer waiting is refused; the session goes on.
        await s.conn.conversation.item.create(
            item={
                "type": "mcp_approval_response",
                "approval_request_id": request["id"],
                "approve": True,
            }
        )
        (error,) = of_type(await s.until("error"), "error")
    assert error["error"]["param"] == "item.approval_request_id"


async def test_a_cancelled_response_fails_the_vendors_call(
    served: Served, mcp_servers: McpServers
) -> None:
    region = "Carpathia"
    before = await census_counts(mcp_servers, region)
    async with connect(served, PASS) as s:
        await s.configure(mcp("tools", mcp_servers.http_url, require_approval="never"))
        await s.conn.conversation.item.create(
            item=user_text(f"Count the population of the {region} region.")
        )
        await s.conn.response.create()
        await s.until("response.mcp_call.in_progress")
        await census_reaches(mcp_servers, region, started=before["started"] + 1)
        await s.conn.response.cancel()
        ended = await s.until("response.done")
        kinds = [e["type"] for e in ended]
        order = ["response.mcp_call.failed", "response.output_item.done", "response.done"]
        assert [k for k in kinds if k in order] == order
        call = the_call(ended)
        assert call["id"].startswith("mcp_")
        assert call["output"] is None
        assert call["error"]["type"] == "tool_execution_error"
        assert "cancelled" in call["error"]["message"]
        assert ended[-1]["response"]["status"] == "cancelled"
        # The vendor stopped the tool on the server too.
        await census_reaches(mcp_servers, region, cancelled=before["cancelled"] + 1)
        reply = await s.ask("Hello there")
    assert deltas(reply, "response.output_text.delta")
    assert reply[-1]["response"]["status"] == "completed"


async def test_the_operators_server_reaches_the_vendor_not_the_client(served: Served) -> None:
    """The secure server refuses a request without the token: the vendor's listing and
    call succeed only with the operator's credentials, which the gateway gave it."""
    async with connect(served, PASS) as s:
        listed = await s.configure(mcp("ops", require_approval="never"))
        assert of_type(listed, "mcp_list_tools.completed")
        updated = of_type(listed, "session.updated")[-1]["session"]
        assert updated["tools"] == [
            {"type": "mcp", "server_label": "ops", "server_description": "The operator's tools"}
        ]
        first = await s.ask("What is the weather forecast for Paris?")
        call = the_call(first)
        assert call["id"].startswith("mcp_")
        assert call["output"] == FORECAST
        await s.until("response.done")
    assert TOKEN not in json.dumps(s.events)


async def test_without_the_option_the_gateway_runs_the_tools(
    served: Served, mcp_servers: McpServers
) -> None:
    async with connect(served, GATEWAY) as s:
        listed = await s.configure(mcp("weather", mcp_servers.http_url, require_approval="never"))
        (added,) = of_type(listed, "conversation.item.added")
        assert added["item"]["id"].startswith("item_")  # the gateway's listing
        first = await s.ask("What is the weather forecast for Paris?")
        call = the_call(first)
        assert call["id"].startswith("item_")  # the gateway ran it
        assert call["output"] == FORECAST
        reply = await s.until("response.done")
    assert FORECAST in deltas(reply, "response.output_text.delta")


async def test_a_key_not_allowed_the_server_is_refused(
    tmp_path: Path, mcp_servers: McpServers
) -> None:
    sections = {
        "general_settings": {"master_key": MASTER},
        "mcp_servers": operator_servers(mcp_servers, allowed_keys=["support"]),
    }
    async with serve(tmp_path, sections) as served, aiohttp.ClientSession() as http:
        admin = Admin(http, served.port)
        support = await admin.generate(key_alias="support")
        sales = await admin.generate(key_alias="sales")
        async with connect(served, PASS, support) as s:
            listed = await s.configure(mcp("ops", require_approval="never"))
            assert of_type(listed, "mcp_list_tools.completed")
        async with connect(served, PASS, sales) as s:
            await s.conn.session.update(
                session={"type": "realtime", "tools": [mcp("ops")], "output_modalities": ["text"]}
            )
            (error,) = of_type(await s.until("error"), "error")
            assert error["error"]["param"] == "session.tools[0].server_url"
            assert "(configured servers this key may use: open)" in error["error"]["message"]
            # The session went on: a server open to every key is listed by the vendor.
            listed = await s.configure(mcp("open", require_approval="never"))
            (done,) = of_type(listed, "conversation.item.done")
            assert done["item"]["id"].startswith("mcpl_")


@pytest.mark.parametrize("vendor", ["azure", "xai"])
def test_only_openai_takes_the_option(vendor: str) -> None:
    model = ModelConfig(
        name=vendor,
        provider=f"{vendor}-realtime",
        model="my-realtime" if vendor == "azure" else "grok-voice-think-fast-1.0",
        params={"api_key": "k", "api_base": "http://127.0.0.1:1", "mcp_passthrough": True},
        info={"base_model": "gpt-realtime"} if vendor == "azure" else {},
    )
    with pytest.raises(ValueError, match="mcp_passthrough"):
        OpenAIRealtimeProvider(model, vendor)  # type: ignore[arg-type]


def test_the_servers_credentials_stay_out_of_reprs() -> None:
    """What a log line could show of a session's settings holds no header of a server."""
    server = RemoteMcpServer(
        label="ops", url="https://mcp.example", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    config = SessionConfig(model="m", mcp_servers=(server,))
    assert TOKEN not in repr(config)
    assert TOKEN not in str(config)
    assert "ops" in repr(config)
