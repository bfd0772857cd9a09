"""Conversation items -> the history Nova Sonic accepts.

Bedrock rejects history that breaks its rules, and a rejected stream costs the whole
session, so the rules are enforced here rather than hoped for:

- the first message is USER (leading assistant turns are dropped),
- roles alternate (consecutive same-role messages are merged),
- at most ``MAX_MESSAGES`` messages and ``MAX_TOTAL_BYTES`` of text (oldest dropped first),
- each ``textInput`` carries at most ``MAX_CHUNK_BYTES`` of UTF-8 (longer text is split
  into several ``textInput`` events inside one content block).

System items are not history: they are appended to the system prompt. Items become text
as the kit renders them (``as_text``: a toolUseId only means something inside the stream
that issued it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import msgspec

from rtcore.kit import as_text
from rtcore.provider.messages import Item

MAX_MESSAGES = 40
MAX_CHUNK_BYTES = 1024
MAX_TOTAL_BYTES = 40 * 1024

HistoryRole = Literal["USER", "ASSISTANT"]


class HistoryMessage(msgspec.Struct, frozen=True, kw_only=True):
    role: HistoryRole
    text: str


def system_additions(items: Iterable[Item]) -> str:
    """Text of system items, to be appended to the system prompt."""
    return "\n".join(t.text for i in items if (t := as_text(i)) and t.role == "system")


def build_history(
    items: Sequence[Item],
    *,
    max_messages: int = MAX_MESSAGES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> list[HistoryMessage]:
    """Nova-valid history from conversation items, newest kept when something must go.

    Linear in what is kept, whatever the conversation's size: items are read newest first
    and reading stops once the budget is spent, and same-role runs are joined once (a
    conversation of a thousand long replies must not stall the event loop at every open).
    """
    runs: list[tuple[HistoryRole, list[str]]] = []  # newest first, pieces newest first
    gathered = 0
    for item in reversed(items):
        turn = as_text(item)
        if turn is None or turn.role == "system":
            continue
        role: HistoryRole = "USER" if turn.role == "user" else "ASSISTANT"
        text = turn.text.strip()
        if not text:
            continue
        if runs and runs[-1][0] == role:
            runs[-1][1].append(text)
        elif len(runs) > max_messages:
            break  # this and older messages cannot be kept
        else:
            runs.append((role, [text]))
        gathered += len(text.encode()) + 1
        if gathered > max_total_bytes:
            # Over the budget: nothing older can be kept (of a single run, only its tail,
            # which the pieces gathered already hold).
            break

    # Keep the newest messages that fit; a single message larger than the whole budget
    # keeps its tail (the most recent words).
    kept: list[tuple[HistoryRole, str]] = []
    total = 0
    for role, pieces in runs:
        if len(kept) >= max_messages:
            break
        text = "\n".join(reversed(pieces))
        size = len(text.encode())
        if total + size > max_total_bytes:
            room = max_total_bytes - total
            if room > 0 and not kept:
                kept.append((role, _tail_bytes(text, room)))
            break
        kept.append((role, text))
        total += size
    kept.reverse()

    while kept and kept[0][0] != "USER":
        kept.pop(0)
    return [HistoryMessage(role=role, text=text) for role, text in kept]


def _tail_bytes(text: str, limit: int) -> str:
    data = text.encode()[-limit:]
    return data.decode(errors="ignore")


def split_utf8(text: str, limit: int = MAX_CHUNK_BYTES) -> list[str]:
    """Split into pieces of at most ``limit`` UTF-8 bytes, at whitespace when possible and
    never inside a character."""
    pieces: list[str] = []
    data = text.encode()
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:
            cut -= 1  # back off to a character boundary
        space = data.rfind(b" ", 0, cut)
        if space > limit // 2:
            cut = space + 1
        pieces.append(data[:cut].decode())
        data = data[cut:]
    if data or not pieces:
        pieces.append(data.decode())
    return pieces
