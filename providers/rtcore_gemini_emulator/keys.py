"""Field access that takes a key in lowerCamelCase or snake_case alike.

The real service accepts both, and google-genai mixes them: outer keys such as
``client_content`` go out snake_case, user dicts pass through unconverted (reference §0.3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from .errors import invalid

_UPPER = re.compile(r"(?<!^)([A-Z])")


@cache
def snake(camel: str) -> str:
    return _UPPER.sub(r"_\1", camel).lower()


def pick(obj: Mapping[str, Any], camel: str, default: Any = None) -> Any:
    if camel in obj:
        return obj[camel]
    return obj.get(snake(camel), default)


def has(obj: Mapping[str, Any], camel: str) -> bool:
    return camel in obj or snake(camel) in obj


def mapping(obj: Mapping[str, Any], camel: str) -> dict[str, Any]:
    """A nested object, ``{}`` when absent; anything but an object is an invalid argument."""
    value = pick(obj, camel)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(f"{camel} must be an object")
    return value


def items(obj: Mapping[str, Any], camel: str) -> list[Any]:
    value = pick(obj, camel)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(f"{camel} must be a list")
    return value


def unknown(obj: Mapping[str, Any], known: Iterable[str]) -> list[str]:
    """The keys of ``obj`` that are none of ``known`` (camel names) in either spelling."""
    allowed = set()
    for name in known:
        allowed.add(name)
        allowed.add(snake(name))
    return [key for key in obj if key not in allowed]


def camel(name: str) -> str:
    """The lowerCamelCase spelling of a key given either way (``client_content`` ->
    ``clientContent``)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
