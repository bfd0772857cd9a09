"""What the contract's tests give a provider: the questions they ask, the tool they offer,
the speech a provider hears (``Speech``) and the hook that makes it reconnect (``Reconnect``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec

from rtcore.provider.messages import AddItem, Message, ToolDef
from rtcore.testing.driver import Driver

QUESTION = "Please tell me a long story about the sea, the ships and the sailors on them."
OpenSession = Callable[..., Awaitable[Driver]]
Reconnect = Callable[[Driver], Awaitable[None]]

WEATHER = ToolDef(
    name="get_weather",
    description="The weather forecast for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)
WEATHER_QUESTION = "What is the weather in Paris?"
WEATHER_RESULT = "Sunny and 21 degrees, a light breeze from the west."


class Speech(msgspec.Struct, frozen=True, kw_only=True):
    """``turn``: PCM16 at ``rate`` that the provider hears as one spoken turn, followed by
    the silence that ends it."""

    turn: bytes
    rate: int = 16000


def ask(item_id: str, text: str = QUESTION) -> AddItem:
    return AddItem(item=Message(id=item_id, role="user", text=text))
