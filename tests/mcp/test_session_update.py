"""What a session may say of MCP servers, refused with OpenAI-style errors naming the
parameter (the session going on); the scripted provider of tests/core, no server needed."""

from __future__ import annotations

from typing import Any

import pytest

from rtcore.dialect import Dialect
from tests.core.conftest import Harness, ScriptedProvider, text_reply

URL = "http://127.0.0.1:9/mcp"  # never reached: each update below is refused first


@pytest.mark.parametrize(
    ("session", "code", "param"),
    [
        (
            {"type": "realtime", "tools": [{"type": "mcp", "server_url": URL}]},
            "missing_required_parameter",
            "session.tools[0].server_label",
        ),
        (
            {
                "type": "realtime",
                "tools": [{"type": "mcp", "server_label": "d", "connector_id": "connector_gmail"}],
            },
            "invalid_value",
            "session.tools[0].connector_id",
        ),
        (
            {
                "type": "realtime",
                "tools": [{"type": "function", "name": "f", "server_label": "x"}],
            },
            "unknown_parameter",
            "session.tools[0].server_label",
        ),
        (
            {
                "type": "realtime",
                "tools": [
                    {"type": "mcp", "server_label": "a", "server_url": URL},
                    {"type": "mcp", "server_label": "a", "server_url": URL},
                ],
            },
            "invalid_value",
            "session.tools",
        ),
        (
            {
                "type": "realtime",
                "tools": [
                    {
                        "type": "mcp",
                        "server_label": "a",
                        "server_url": URL,
                        "require_approval": "sometimes",
                    }
                ],
            },
            "invalid_value",
            "session.tools[0].require_approval",
        ),
        (
            {
                "type": "realtime",
                "tools": [{"type": "mcp", "server_label": "a", "server_url": "file:///etc"}],
            },
            "invalid_value",
            "session.tools[0].server_url",
        ),
    ],
)
async def test_refused_with_the_parameter_named(
    session: dict[str, Any], code: str, param: str
) -> None:
    async with Harness(ScriptedProvider(text_reply), Dialect.GA) as client:
        await client.send({"type": "session.update", "session": session})
        error = (await client.wait_for("error"))["error"]
        assert (error["code"], error["param"]) == (code, param)
        # Nothing of it applied; the session goes on.
        await client.send({"type": "session.update", "session": {"type": "realtime"}})
        updated = await client.wait_for("session.updated")
        assert updated["session"]["tools"] == []
        assert "mcp_list_tools.in_progress" not in client.types()


async def test_a_beta_session_has_no_mcp_tools() -> None:
    async with Harness(ScriptedProvider(text_reply), Dialect.BETA) as client:
        tool = {"type": "mcp", "server_label": "a", "server_url": URL}
        await client.send({"type": "session.update", "session": {"tools": [tool]}})
        error = (await client.wait_for("error"))["error"]
        assert error["param"] == "session.tools[0].type"
        assert "GA" in error["message"]


async def test_a_response_cannot_add_servers() -> None:
    async with Harness(ScriptedProvider(text_reply), Dialect.GA) as client:
        tool = {"type": "mcp", "server_label": "a", "server_url": URL}
        await client.send({"type": "response.create", "response": {"tools": [tool]}})
        error = (await client.wait_for("error"))["error"]
        assert error["param"] == "response.tools[0].type"
        assert "session.update" in error["message"]


async def test_an_approval_for_nothing_waiting_is_refused() -> None:
    async with Harness(ScriptedProvider(text_reply), Dialect.GA) as client:
        item = {
            "type": "mcp_approval_response",
            "approval_request_id": "item_nope",
            "approve": True,
        }
        await client.send({"type": "conversation.item.create", "item": item})
        error = (await client.wait_for("error"))["error"]
        assert (error["code"], error["param"]) == ("invalid_value", "item.approval_request_id")
