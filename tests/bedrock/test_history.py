from __future__ import annotations

from rtcore.provider import messages as n
from rtcore_bedrock_sonic.history import build_history, split_utf8, system_additions


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
