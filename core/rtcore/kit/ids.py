"""Ids for what a provider starts on its own: spoken user turns and responses."""

from __future__ import annotations

from rtcore.ids import new_id


def new_item_id() -> str:
    return new_id("item_")


def new_response_id() -> str:
    return new_id("resp_")
