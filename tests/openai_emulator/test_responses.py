"""Tools, out-of-band responses, per-response overrides and the conversation's items
(reference §3.4, §2.1)."""

from __future__ import annotations

import json
from typing import Any

from rtcore_openai_emulator import OpenAIRealtimeEmulator, Script

from .conftest import MODEL, openai_client, say_text, text_session, types_of, until

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


async def test_tool_round_trip(emulator: OpenAIRealtimeEmulator) -> None:
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await conn.session.update(
            session={"type": "realtime", "output_modalities": ["text"], "tools": [WEATHER]}
        )
        await until(conn, "session.updated")
        await say_text(conn, "What is the weather like in Paris?")
        await conn.response.create()
        await until(conn, "response.done", events)
        kinds = types_of(events)
        assert kinds[2:] == [
            "response.created",
            "response.output_item.added",
            "conversation.item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "conversation.item.done",
            "response.output_item.done",
            "response.done",
        ]
        call = events[-1].response.output[0]
        assert (call.type, call.name) == ("function_call", "get_weather")
        assert json.loads(call.arguments) == {"city": "Paris"}
        args_done = events[kinds.index("response.function_call_arguments.done")]
        assert args_done.call_id == call.call_id
        await conn.conversation.item.create(
            item={
                "type": "function_call_output",
                "call_id": call.call_id,
                "output": json.dumps({"temperature": "18 C", "sky": "clear"}),
            }
        )
        output_added = await until(conn, "conversation.item.added")
        assert output_added.item.type == "function_call_output"
        await conn.response.create()
        done = await until(conn, "response.done")
    text = done.response.output[0].content[0].text
    assert text == 'The get_weather tool returned {"temperature": "18 C", "sky": "clear"}'
    assert [o.call_id for o in emulator.stats.tool_outputs] == [call.call_id]


async def test_tool_choice_none_and_a_per_response_tool(emulator: OpenAIRealtimeEmulator) -> None:
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "What is the weather like in Paris?")
        await conn.response.create(response={"tools": [WEATHER], "tool_choice": "none"})
        plain = await until(conn, "response.done")
        assert plain.response.output[0].type == "message"
        await conn.response.create(response={"tools": [WEATHER]})
        called = await until(conn, "response.done")
    assert called.response.output[0].type == "function_call"


async def test_out_of_band_response_stays_out_of_the_conversation(
    emulator: OpenAIRealtimeEmulator,
) -> None:
    events: list[Any] = []
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Hello.")
        await until(conn, "conversation.item.done")
        await conn.response.create(
            response={
                "conversation": "none",
                "metadata": {"purpose": "classify"},
                "output_modalities": ["text"],
                "instructions": "Classify the user's intent.",
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Thank you, goodbye."}],
                    }
                ],
            }
        )
        oob = await until(conn, "response.done", events)
        assert "conversation.item.added" not in types_of(events)
        assert oob.response.metadata == {"purpose": "classify"}
        assert oob.response.conversation_id is None
        assert oob.response.output[0].content[0].text == "You said: Thank you, goodbye."
        # The conversation never heard the out-of-band reply: it still answers "Hello."
        await say_text(conn, "What did I say before?")
        await conn.response.create()
        done = await until(conn, "response.done")
    assert done.response.output[0].content[0].text == "Before, you said: Hello."
    assert done.response.metadata is None


async def test_overrides_voice_modalities_and_max_output_tokens(
    emulator: OpenAIRealtimeEmulator,
) -> None:
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Tell me a story about a lighthouse keeper.")
        await conn.response.create(
            response={"output_modalities": ["audio"], "audio": {"output": {"voice": "marin"}}}
        )
        spoken = await until(conn, "response.done")
        assert spoken.response.audio.output.voice == "marin"
        assert spoken.response.output[0].content[0].type == "output_audio"
        await conn.response.create(response={"max_output_tokens": 3})
        cut = await until(conn, "response.done")
    assert cut.response.status == "incomplete"
    assert cut.response.status_details.reason == "max_output_tokens"
    assert cut.response.usage.output_tokens <= 3


async def test_scripted_reply(emulator: OpenAIRealtimeEmulator) -> None:
    emulator.script.reply("Hello.", "Hi! How can I help?")
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "hello.")
        await conn.response.create()
        done = await until(conn, "response.done")
    assert done.response.output[0].content[0].text == "Hi! How can I help?"
    assert isinstance(emulator.script, Script)


async def test_items_create_delete_retrieve(emulator: OpenAIRealtimeEmulator) -> None:
    async with openai_client(emulator).realtime.connect(model=MODEL) as conn:
        await text_session(conn)
        await say_text(conn, "Hello.")
        first = (await until(conn, "conversation.item.done")).item
        await conn.conversation.item.create(
            previous_item_id="root",
            item={
                "id": "item_mine",
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "Be brief."}],
            },
        )
        added = await until(conn, "conversation.item.added")
        assert added.previous_item_id is None
        assert added.item.id == "item_mine"
        await conn.conversation.item.delete(item_id=first.id)
        assert (await until(conn, "conversation.item.deleted")).item_id == first.id
        await conn.conversation.item.retrieve(item_id=first.id, event_id="evt_gone")
        error = await until(conn, "error")
        assert error.error.event_id == "evt_gone"
        assert error.error.param == "item_id"
        await conn.conversation.item.retrieve(item_id="item_mine")
        kept = await until(conn, "conversation.item.retrieved")
    assert kept.item.content[0].text == "Be brief."
