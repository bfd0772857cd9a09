"""What the key admin API refuses, against one real ``rtcore serve`` and its SQLite file:
budgets that are not finite numbers of 0 or more, counts and durations beyond their
bounds, bodies that are not UTF-8 JSON objects or nest too deep; each a 4xx with
OpenAI's error shape naming the field, nothing stored, nothing in the log but the
refusal. And ``/key/list`` counts every key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.keys.hostile_http import (
    generate_key,
    no_trouble,
    openai_error,
    send,
    serve_with_store,
    stored,
    strict_json,
)
from tests.transports.process import Served

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    served, db = serve_with_store(tmp_path_factory.mktemp("validation"))
    with served:
        yield served, db


@pytest.fixture
async def admin(
    server: tuple[Served, Path],
) -> AsyncIterator[tuple[aiohttp.ClientSession, Served, Path]]:
    served, db = server
    async with aiohttp.ClientSession() as http:
        yield http, served, db
    no_trouble(served)


async def refused(
    http: aiohttp.ClientSession, served: Served, path: str, body: bytes, **kwargs: Any
) -> dict[str, Any]:
    status, text = await send(http, served.port, "POST", path, body, **kwargs)
    return openai_error(status, text)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"NaN", "invalid_json"),
        (b"Infinity", "invalid_json"),
        (b"-Infinity", "invalid_json"),
        (b"1e999", "invalid_json"),
        (b"1" + b"0" * 400, "invalid_value"),  # an integer past a float's range
        (b"-1", "invalid_value"),
        (b"-0.000001", "invalid_value"),
        (b'"5"', "invalid_value"),
        (b"true", "invalid_value"),
        (b"[]", "invalid_value"),
    ],
)
async def test_a_budget_is_a_finite_number_of_0_or_more(
    admin: tuple[aiohttp.ClientSession, Served, Path], raw: bytes, code: str
) -> None:
    http, served, db = admin
    key = (await generate_key(http, served.port, max_budget=5))["key"]
    before = stored(db)
    error = await refused(http, served, "/key/generate", b'{"max_budget": ' + raw + b"}")
    assert error["code"] == code, error
    if code == "invalid_value":
        assert error["param"] == "max_budget", error
    update = b'{"key": "' + key.encode() + b'", "max_budget": ' + raw + b"}"
    error = await refused(http, served, "/key/update", update)
    assert error["code"] == code, error
    assert stored(db) == before
    # The key's own budget is as it was, and its info is JSON proper.
    status, text = await send(http, served.port, "GET", "/key/info", query={"key": key})
    assert status == 200
    assert strict_json(text)["info"]["max_budget"] == 5.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_parallel_requests", 10**30),
        ("max_parallel_requests", 1_000_001),
        ("max_parallel_requests", 0),
        ("max_parallel_requests", -1),
        ("max_parallel_requests", 1.5),
        ("max_parallel_requests", True),
        ("max_parallel_requests", "2"),
        ("duration", "99999999999999d"),
        ("duration", "36501d"),
        ("duration", "0s"),
        ("duration", 30),
        ("duration", "forever"),
        ("budget_duration", "999999999999mo"),
        ("budget_duration", "0d"),
        ("budget_duration", " " * 20 + "1d"),
        ("budget_duration", ["30d"]),
        ("key_alias", "x" * 257),
        ("key_alias", "line\nINFO forged"),
        ("key_alias", "line\u2028INFO forged"),
        ("key_alias", ""),
        ("key_alias", 5),
        ("blocked", "false"),
        ("blocked", 0),
        ("models", "echo"),
        ("models", [1]),
        ("models", ["x" * 257]),
        ("metadata", []),
        ("team_id", 5),
        ("team_id", ""),
        ("user_id", "x" * 257),
        ("user_id", "line\nINFO forged"),
        ("key_type", "admin"),
        ("key_type", 1),
        ("rpm_limit", -1),
        ("rpm_limit", 1.5),
        ("rpm_limit", "10"),
        ("rpm_limit", 1_000_001),
        ("rpm_limit", True),
        ("tpm_limit", -5),
        ("tpm_limit", 10**13),
        ("tpm_limit", 1e3),
        ("tags", "a"),
        ("tags", [1]),
        ("tags", [""]),
        ("tags", ["t"] * 101),
        ("soft_budget", 5),
        ("bogus", 1),
    ],
)
async def test_counts_durations_and_fields_are_bounded(
    admin: tuple[aiohttp.ClientSession, Served, Path], field: str, value: Any
) -> None:
    http, served, db = admin
    key = (await generate_key(http, served.port))["key"]
    before = stored(db)
    for path, body in (
        ("/key/generate", {field: value}),
        ("/key/update", {"key": key, field: value}),
    ):
        error = await refused(http, served, path, json.dumps(body).encode())
        assert error["param"] == field, (path, error)
        assert error["type"] == "invalid_request_error"
    assert stored(db) == before


@pytest.mark.parametrize("path", ["/key/generate", "/key/update", "/key/delete"])
@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (DEEP, "application/json", 400, "invalid_json"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "application/json", 400, "invalid_json"),
        (b'{"key_alias": "\xff"}', "application/json", 400, "invalid_json"),
        (b'{"key_alias": "\\ud800"}', "application/json", 400, "invalid_json"),
        (b"\xef\xbb\xbf{}", "application/json", 400, "invalid_json"),
        (b"[]", "application/json", 400, "invalid_json"),
        (b'"x"', "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b'{"models": ', "application/json", 400, "invalid_json"),
        (b"{}", "text/plain", 400, "unsupported_content_type"),
        (b"key_alias=x", "application/x-www-form-urlencoded", 400, "unsupported_content_type"),
        (b'{"metadata": {"x": "' + b"y" * (1 << 20) + b'"}}', "application/json", 413, None),
    ],
)
async def test_bodies_that_are_not_utf8_json_objects(
    admin: tuple[aiohttp.ClientSession, Served, Path],
    path: str,
    body: bytes,
    content_type: str,
    status: int,
    code: str | None,
) -> None:
    http, served, db = admin
    before = stored(db)
    got, text = await send(http, served.port, "POST", path, body, content_type)
    assert got == status, text[:300]
    error = openai_error(got, text)
    assert code is None or error["code"] == code, error
    assert error["type"] == "invalid_request_error"
    assert stored(db) == before


async def test_delete_takes_lists_of_keys_and_deletes_all_or_none(
    admin: tuple[aiohttp.ClientSession, Served, Path],
) -> None:
    http, served, db = admin
    key = (await generate_key(http, served.port))["key"]
    before = stored(db)
    for body, param in (
        ({"keys": key}, "keys"),
        ({"keys": [1]}, "keys"),
        ({"keys": [""]}, "keys"),
        ({"key_aliases": {"a": 1}}, "key_aliases"),
        ({"keys": [key], "all": True}, "all"),
        ({}, "keys"),
    ):
        error = await refused(http, served, "/key/delete", json.dumps(body).encode())
        assert error["param"] == param, (body, error)
    error = await refused(
        http, served, "/key/delete", json.dumps({"keys": [key, "sk-not-a-key"]}).encode()
    )
    assert error["code"] == "key_not_found"
    assert stored(db) == before


async def test_key_list_counts_every_key_and_bounds_its_pages(
    admin: tuple[aiohttp.ClientSession, Served, Path],
) -> None:
    http, served, db = admin
    await generate_key(http, served.port)
    await generate_key(http, served.port)
    total = len(stored(db)["keys"])
    assert total >= 2
    status, text = await send(http, served.port, "GET", "/key/list", query={"size": "1"})
    assert status == 200, text
    listed = strict_json(text)
    assert len(listed["keys"]) == 1
    assert listed["total_count"] == total
    assert listed["total_pages"] == total
    for name, value in (
        ("page", "0"),
        ("page", "-1"),
        ("page", "1000000000000000000"),
        ("page", "1.5"),
        ("page", "x"),
        ("size", "0"),
        ("size", "101"),
        ("size", "99999999999999999999"),
    ):
        status, text = await send(http, served.port, "GET", "/key/list", query={name: value})
        assert openai_error(status, text)["param"] == name, (name, value, text)


async def test_spend_log_dates_are_checked(
    admin: tuple[aiohttp.ClientSession, Served, Path],
) -> None:
    http, served, _ = admin
    for name, value in (
        ("start_date", "yesterday"),
        ("end_date", "2026-13-01"),
        ("start_date", "0001-01-01T00:00:00+05:00"),
        ("end_date", "9999-12-31T23:59:59-05:00"),
    ):
        status, text = await send(http, served.port, "GET", "/spend/logs", query={name: value})
        assert openai_error(status, text)["param"] == name, (name, value, text)
