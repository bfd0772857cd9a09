"""The printed table says which provider was measured, with the columns that apply to it."""

from __future__ import annotations

from typing import Any

from bench.report import table


def _figures(cpu: float, *, beyond: bool) -> dict[str, Any]:
    summary = {"count": 10, "p50": 1.0, "p99": 2.0, "max": 3.0}
    figures: dict[str, Any] = {
        "sessions": 5,
        "up_ms": summary,
        "down_ms": summary,
        "ttfa_ms": summary,
        "cpu_s_per_session_min": cpu,
        "rss_peak_mb": 80.0,
        "rss_per_session_mb": 0.5,
        "realtime": True,
        "errors": 0,
        "lost_chunks": 0,
        "missing_replies": 0,
    }
    if beyond:
        figures["up_beyond_coalescing_ms"] = summary
    return figures


def test_gemini_table_names_the_provider_and_has_no_coalescing_column() -> None:
    report = {
        "provider": "gemini",
        "model": "gemini-3.8-live",
        "targets": {
            "direct": _figures(2.0, beyond=False),
            "rtcore": _figures(1.0, beyond=False),
            "litellm": {"skipped": "not measured"},
        },
    }
    lines = table(report).splitlines()
    assert lines[0] == "provider: Gemini Live (direct: google-genai), model gemini-3.8-live"
    header = next(line for line in lines if line.startswith("| target"))
    assert "coalescing" not in header
    rows = [line for line in lines if line.startswith("| ")]
    assert all(row.count("|") == header.count("|") for row in rows)
    rtcore = next(row for row in rows if row.startswith("| rtcore"))
    assert "1.00 (×0.50)" in rtcore


def test_nova_table_keeps_its_columns() -> None:
    report = {
        "provider": "nova",
        "model": "amazon.nova-2-sonic-v1:0",
        "targets": {"direct": _figures(2.0, beyond=True), "rtcore": _figures(1.5, beyond=True)},
    }
    text = table(report)
    assert text.startswith("provider: Nova Sonic")
    header = next(line for line in text.splitlines() if line.startswith("| target"))
    assert "beyond coalescing" in header
    assert "1.50 (×0.75)" in text


def test_openai_table_names_the_provider_and_shows_the_added_latency_both_ways() -> None:
    direct, rtcore = _figures(2.0, beyond=False), _figures(1.0, beyond=False)
    rtcore["up_ms"] = {"count": 9, "p50": 3.0, "p99": 9.0, "max": 12.0}
    rtcore["down_ms"] = {"count": 9, "p50": 2.5, "p99": 7.0, "max": 8.0}
    report = {
        "provider": "openai",
        "model": "gpt-realtime-2",
        "targets": {"direct": direct, "rtcore": rtcore},
    }
    lines = table(report).splitlines()
    assert lines[0] == "provider: OpenAI Realtime (direct: openai), model gpt-realtime-2"
    header = next(line for line in lines if line.startswith("| target"))
    assert "coalescing" not in header
    row = next(line for line in lines if line.startswith("| rtcore")).split(" | ")
    columns = header.split(" | ")
    added = [i for i, name in enumerate(columns) if name.startswith("added vs direct")]
    # Against direct's 1.0 / 2.0 each way.
    assert [row[i] for i in added] == ["2.0 / 7.0", "1.5 / 5.0"]
