from __future__ import annotations

from typing import Any

from rtcore.provider import messages as n
from rtcore_bedrock_sonic.history import (
    MAX_MESSAGES,
    build_history,
    split_utf8,
    system_additions,
)


def msg(i: int, role: n.Role, text: str) -> n.Message:
    return n.Message(id=f"m{i}", role=role, text=text)


def test_first_user_alternation_and_merge() -> None:
    items: list[n.Item] = [
        msg(0, "assistant", "Welcome!"),
        msg(1, "user", "Hi"),
        msg(2, "user", "there"),
        msg(3, "system", "Be brief."),
        msg(4, "assistant", "Hello."),
        n.FunctionCall(id="c", call_id="x", name="f", arguments="{}"),
        n.FunctionCallOutput(id="o", call_id="x", output='{"ok": true}'),
    ]
    history = build_history(items)
    assert [h.role for h in history] == ["USER", "ASSISTANT", "USER"]
    assert history[0].text == "Hi\nthere"
    assert "f" in history[1].text
    assert '{"ok": true}' in history[2].text
    assert system_additions(items) == "Be brief."


def test_message_and_byte_limits_keep_newest() -> None:
    items: list[n.Item] = [
        msg(i, "user" if i % 2 == 0 else "assistant", f"t{i} " + "x" * 900) for i in range(100)
    ]
    history = build_history(items)
    assert len(history) <= 40
    assert sum(len(h.text.encode()) for h in history) <= 40 * 1024
    assert history[0].role == "USER"
    assert history[-1].text.startswith("t99")


def test_huge_single_message_keeps_its_tail() -> None:
    history = build_history([msg(0, "user", "a" * 50_000 + "END")])
    assert len(history) == 1
    assert history[0].text.endswith("END")
    assert len(history[0].text.encode()) <= 40 * 1024


def test_split_utf8_never_breaks_characters() -> None:
    text = "é" * 1500 + " word " * 300
    pieces = split_utf8(text)
    assert all(len(p.encode()) <= 1024 for p in pieces)
    assert "".join(pieces) == text
    assert split_utf8("") == [""]


class CountingItems(list[Any]):
    """A conversation that counts how many of its items were looked at."""

    looked = 0

    def __reversed__(self) -> Any:
        for item in super().__reversed__():
            self.looked += 1
            yield item

    def __iter__(self) -> Any:
        for item in super().__iter__():
            self.looked += 1
            yield item


def test_rendering_reads_only_what_it_can_keep() -> None:
    # A thousand 60 kB replies: history keeps the newest 40 kB, so it must read a couple of
    # items, not a thousand (merging them all, quadratically, stalled every other session).
    items = CountingItems(
        [n.Message(id="u", role="user", text="hello")]
        + [n.Message(id=f"a{i}", role="assistant", text="x" * 60_000) for i in range(1000)]
        + [n.Message(id="u2", role="user", text="what now?")]
    )
    history = build_history(items)
    assert items.looked <= 3
    # The newest message fits; the run of replies before it does not, nor anything older.
    assert [(m.role, m.text) for m in history] == [("USER", "what now?")]


def test_many_short_turns_keep_the_newest_messages_in_order() -> None:
    items = [
        n.Message(id=f"{r}{i}", role=r, text=f"{r} {i}")
        for i in range(500)
        for r in ("user", "assistant")
    ]
    history = build_history(items)
    assert len(history) <= MAX_MESSAGES
    assert history[-1].text == "assistant 499"
    assert history[0].role == "USER"
