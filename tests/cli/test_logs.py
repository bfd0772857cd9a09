"""Secrets are masked in everything the log handler formats."""

from __future__ import annotations

import io
import json
import logging

import pytest

from rtcore.logs import MASK, configure_logging, secret_values


@pytest.fixture
def restore_root_logging() -> object:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_secrets_masked_in_messages_arguments_and_tracebacks(
    restore_root_logging: object,
) -> None:
    stream = io.StringIO()
    formatter = configure_logging("debug", stream=stream)
    formatter.add_secrets(["sk-master-abc", "wJalrXUtnFEMI/K7MDENG", "ab"])
    log = logging.getLogger("test.redaction")
    log.info("key %s and %r", "sk-master-abc", {"secret": "wJalrXUtnFEMI/K7MDENG"})
    try:
        raise RuntimeError("upstream refused sk-master-abc")
    except RuntimeError:
        log.exception("failed on lab")
    output = stream.getvalue()
    assert "sk-master-abc" not in output
    assert "wJalrXUtnFEMI/K7MDENG" not in output
    assert output.count(MASK) == 4
    assert "RuntimeError: upstream refused [REDACTED]" in output
    # Too short to be a real secret: masking it would garble the whole log.
    assert "ab" in output


def test_longer_secret_containing_a_shorter_one_is_masked_whole(
    restore_root_logging: object,
) -> None:
    stream = io.StringIO()
    formatter = configure_logging("info", stream=stream)
    formatter.add_secrets(["abcd", "abcdefgh"])
    logging.getLogger("test.redaction").warning("abcdefgh")
    assert stream.getvalue().rstrip().endswith(f": {MASK}")


def test_secret_values_picks_secret_looking_params() -> None:
    params = {
        "aws_region_name": "us-east-1",
        "aws_access_key_id": "AKIA1",
        "aws_secret_access_key": "s1",
        "aws_session_token": "t1",
        "api_key": "k1",
        "nested": {"password": "p1", "endpoint": "https://x"},
        "chunk_delay_ms": 5,
    }
    assert sorted(secret_values(params)) == ["AKIA1", "k1", "p1", "s1", "t1"]


def test_keys_in_queries_and_key_shaped_strings_are_shortened(
    restore_root_logging: object,
) -> None:
    stream = io.StringIO()
    formatter = configure_logging("info", stream=stream, style="json")
    formatter.add_secrets(["sk-master-abc"])
    key = "sk-" + "A1b2C3d4" * 4
    secret = "ek_" + "Z9y8X7w6" * 4
    log = logging.getLogger("test.redaction")
    log.info('"GET /key/info?key=%s&key_alias=team-a" 200', key)
    log.info('"GET /x?model=echo&api-key=%s;token=short&key=sk-master-abc"', secret)
    log.info("minted %s for %s (task-abcdefghijklmnop, amazon.nova-sonic-v1:0)", secret, key)
    try:
        raise RuntimeError(f"refused {key}")
    except RuntimeError:
        log.exception("failed")
    output = stream.getvalue()
    assert key not in output
    assert secret not in output
    assert "sk-master-abc" not in output
    lines = [json.loads(line) for line in output.splitlines()]
    messages = [line["message"] for line in lines]
    assert messages[0] == '"GET /key/info?key=sk-...C3d4&key_alias=team-a" 200'
    assert messages[1] == f'"GET /x?model=echo&api-key=ek_...X7w6;token={MASK}&key={MASK}"'
    assert messages[2] == (
        "minted ek_...X7w6 for sk-...C3d4 (task-abcdefghijklmnop, amazon.nova-sonic-v1:0)"
    )
    assert "RuntimeError: refused sk-...C3d4" in lines[3]["exception"]
