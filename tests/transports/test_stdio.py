"""The stdio transport: JSON lines in, JSON lines out, logs on stderr, EOF finishes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from rtcore_stdio.lines import LineSplitter
from tests.transports.process import RTCORE, rtcore

USER_TEXT = {
    "type": "conversation.item.create",
    "item": {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Hello!"}],
    },
}
RESPONSE = {"type": "response.create", "response": {"modalities": ["text"]}}


def lines(*events: dict[str, Any] | str) -> str:
    return "".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in events)


def parse_stdout(stdout: str) -> list[dict[str, Any]]:
    """Like ``| jq -c .``: every line must be exactly one JSON object."""
    assert stdout.endswith("\n")
    events = [json.loads(line) for line in stdout.splitlines()]
    assert all(isinstance(e, dict) and "type" in e for e in events)
    return events


def test_text_turn_then_eof_finishes_the_response(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    # Slow chunks: EOF arrives long before the response is done, which must still finish.
    config.write_text(
        "model_list:\n- model_name: slow\n  litellm_params: {model: echo/echo-1, "
        "chunk_delay_ms: 40}\n"
    )
    result = rtcore(
        "serve",
        "--transport",
        "stdio",
        "--config",
        str(config),
        "--model",
        "slow",
        input=lines(USER_TEXT, RESPONSE),
    )
    assert result.returncode == 0, result.stderr
    events = parse_stdout(result.stdout)
    types = [e["type"] for e in events]
    assert types[0] == "session.created"
    assert types[-1] == "response.done"
    text = "".join(e["delta"] for e in events if e["type"] == "response.text.delta")
    assert text == "You said: Hello!"
    assert "stdin closed: finishing the session" in result.stderr


def test_provider_flag_and_ga_dialect_flag() -> None:
    result = rtcore(
        "serve",
        "--transport",
        "stdio",
        "--provider",
        "echo",
        "--dialect",
        "ga",
        input=lines(USER_TEXT, RESPONSE),
    )
    assert result.returncode == 0, result.stderr
    types = [e["type"] for e in parse_stdout(result.stdout)]
    assert "response.output_text.delta" in types
    assert "conversation.item.added" in types


def test_bad_lines_get_errors_and_the_session_goes_on() -> None:
    huge = json.dumps({"type": "input_audio_buffer.append", "audio": "A" * 5000})
    result = rtcore(
        "serve",
        "--transport",
        "stdio",
        "--provider",
        "echo",
        "--max-message-bytes",
        "2048",
        input=lines("not json", "", huge, '{"type": "input_audio_buffer.clear"}'),
    )
    assert result.returncode == 0, result.stderr
    events = parse_stdout(result.stdout)
    codes = [e["error"]["code"] for e in events if e["type"] == "error"]
    assert codes == ["invalid_json", "message_too_large"]
    assert events[-1]["type"] == "input_audio_buffer.cleared"


def test_stdin_from_a_file_and_stdout_to_a_file(tmp_path: Path) -> None:
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(lines(USER_TEXT, RESPONSE))
    with source.open() as stdin, target.open("w") as stdout:
        code = subprocess.run(
            [RTCORE, "serve", "--transport", "stdio", "--provider", "echo"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            timeout=30,
            check=False,
        ).returncode
    assert code == 0
    assert parse_stdout(target.read_text())[-1]["type"] == "response.done"


def test_stdio_needs_a_model_when_several_are_configured(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "model_list:\n- model_name: a\n  litellm_params: {model: echo/echo-1}\n"
        "- model_name: b\n  litellm_params: {model: echo/echo-1}\n"
    )
    result = rtcore("serve", "--transport", "stdio", "--config", str(config), input="")
    assert result.returncode == 2
    assert "choose it with --model NAME. Configured models: a, b" in result.stderr
    assert result.stdout == ""


def test_line_splitter_bounds_memory_and_recovers() -> None:
    splitter = LineSplitter(limit=8)
    out = list(splitter.feed(b'{"a":1}\n{"b"'))
    out += list(splitter.feed(b":2}\r\n" + b"x" * 20))
    out += list(splitter.feed(b"y" * 50))  # still the over-long line: skipped
    out += list(splitter.feed(b"z\nok\nlast"))
    out += list(splitter.end())
    assert out == [b'{"a":1}', b'{"b":2}\r', b"x" * 9, b"ok", b"last"]


def test_line_splitter_over_long_line_ending_in_one_chunk() -> None:
    splitter = LineSplitter(limit=4)
    assert list(splitter.feed(b"abcdefgh\nab\n")) == [b"abcde", b"ab"]
    assert list(splitter.end()) == []
