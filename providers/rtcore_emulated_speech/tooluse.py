"""The documented rule for when the emulated model calls a tool, and with which arguments."""

from __future__ import annotations

import re
from typing import Any, Protocol


class Tool(Protocol):
    """What the rule reads of a declared tool (each emulator has its own tool type)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def schema(self) -> dict[str, Any]: ...


_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_STOP = frozenset(
    {
        "about",
        "after",
        "also",
        "from",
        "have",
        "into",
        "just",
        "like",
        "more",
        "most",
        "only",
        "other",
        "over",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "with",
        "would",
        "your",
        "tool",
        "tools",
        "function",
        "returns",
        "return",
        "given",
        "current",
    }
)


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)}


def match_tool[T: Tool](tools: list[T], text: str) -> T | None:
    """The first tool whose name (``_``/``-`` read as spaces) appears in ``text``, or, failing
    that, the first with a description word of 4+ letters (not a stop word) in ``text``."""
    lowered = " ".join(_WORD.findall(text.lower()))
    for tool in tools:
        spoken = " ".join(re.split(r"[_\-\s]+", tool.name.lower()))
        if f" {spoken} " in f" {lowered} " or f" {tool.name.lower()} " in f" {lowered} ":
            return tool
    said = _words(text)
    for tool in tools:
        keywords = {w for w in _words(tool.description) if len(w) >= 4 and w not in _STOP}
        if keywords & said:
            return tool
    return None


_NAME_RUN = re.compile(r"[A-Z][A-Za-z'-]*(?:[ \t]+[A-Z][A-Za-z'-]*)*")


def _proper_noun(text: str) -> str | None:
    """The first run of consecutive capitalised words that does not start a sentence
    ("San Francisco", "Paris"; a run that starts one loses its first word), or the text's
    only word when it is capitalised ("Paris.")."""
    words = _WORD.findall(text)
    if len(words) == 1 and words[0][0].isupper() and words[0] != "I":
        return str(words[0])
    for sentence in re.split(r"[.!?]+\s*", text):
        first = _WORD.search(sentence)
        if first is None:
            continue
        for run in _NAME_RUN.finditer(sentence, first.end()):
            names = [w for w in run.group().split() if w != "I"]
            if names:
                return " ".join(names)
    return None


def arguments(tool: Tool, text: str) -> dict[str, Any]:
    """Arguments for every schema property: strings from a proper noun in the text, numbers from
    the first number, else the property's ``default``, first ``enum`` value, or a type default."""
    properties = tool.schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    noun = _proper_noun(text)
    number = _NUMBER.search(text)
    result: dict[str, Any] = {}
    for name, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type", "string")
        if "default" in prop:
            fallback: Any = prop["default"]
        elif isinstance(prop.get("enum"), list) and prop["enum"]:
            fallback = prop["enum"][0]
        else:
            fallback = {"string": "unknown", "integer": 0, "number": 0, "boolean": True}.get(
                str(kind)
            )
        if kind == "string" and noun is not None and "enum" not in prop:
            result[name] = noun
        elif kind in ("integer", "number") and number is not None:
            value = float(number.group())
            result[name] = int(value) if kind == "integer" else value
        elif fallback is not None:
            result[name] = fallback
        elif kind == "array":
            result[name] = []
        elif kind == "object":
            result[name] = {}
    return result
