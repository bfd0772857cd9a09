"""The printed table (Markdown, so docs/performance.md can quote it as is)."""

from __future__ import annotations

from typing import Any


def _ms(summary: dict[str, Any] | None, key: str) -> float | None:
    if not summary:
        return None
    value = summary.get(key)
    return None if value is None else float(value)


def _pair(a: float | None, b: float | None, digits: int = 1) -> str:
    def one(v: float | None) -> str:
        return "–" if v is None else f"{v:.{digits}f}"

    return f"{one(a)} / {one(b)}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None or base <= 0:
        return ""
    return f" (×{value / base:.2f})"


def _minus(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else value - base


HEADER = (
    "| target | sessions | upstream p50 / p99 ms | beyond coalescing p50 / p99 ms "
    "| added vs direct p50 / p99 ms | downstream p50 / p99 ms | added vs direct p50 / p99 ms "
    "| first audio p50 / p99 ms (p50 added vs direct) | CPU s per session-min "
    "| peak RSS MB (per session) | real time | max real-time N | start-up s median (range) |"
)
# Gemini Live and OpenAI Realtime: rtcore sends each client chunk as it comes (no
# coalescing), so there is no figure beyond coalescing; what is added upstream is the
# upstream figure's.
HEADER_GEMINI = HEADER.replace("| beyond coalescing p50 / p99 ms ", "")
PROVIDERS = {
    "nova": "Nova Sonic (direct: aws_sdk_bedrock_runtime)",
    "gemini": "Gemini Live (direct: google-genai)",
    "openai": "OpenAI Realtime (direct: openai)",
}


def title(report: dict[str, Any]) -> str:
    """Which provider was measured, and its model."""
    provider = report.get("provider", "nova")
    model = report.get("model")
    return f"provider: {PROVIDERS.get(provider, provider)}" + (f", model {model}" if model else "")


def table(report: dict[str, Any]) -> str:
    coalescing = report.get("provider", "nova") == "nova"
    header = HEADER if coalescing else HEADER_GEMINI
    columns = header.count("|") - 1
    rows = [header, "|" + "---|" * columns]
    if "provider" in report:
        rows.insert(0, title(report) + "\n")
    results = report["targets"]
    direct = results.get("direct") or {}
    floor = {} if "skipped" in (results.get("floor") or {}) else (results.get("floor") or {})
    for name, f in results.items():
        if "skipped" in f or "failed" in f:
            rows.append(
                f"| {name} | {f.get('skipped') or f.get('failed')} |" + " |" * (columns - 2)
            )
            continue
        base_up = direct.get("up_ms")
        base_down = direct.get("down_ms")
        up, down = f["up_ms"], f["down_ms"]
        beyond = f["up_beyond_coalescing_ms"] if coalescing else up
        # What the user pays, any hold included (beyond coalescing is shown beside it).
        added_up = _pair(
            _minus(_ms(up, "p50"), _ms(base_up, "p50")),
            _minus(_ms(up, "p99"), _ms(base_up, "p99")),
        )
        added_down = _pair(
            _minus(_ms(down, "p50"), _ms(base_down, "p50")),
            _minus(_ms(down, "p99"), _ms(base_down, "p99")),
        )
        cpu = f.get("cpu_s_per_session_min")
        cpu_text = (
            "–"
            if cpu is None
            else f"{cpu:.2f}"
            + (_ratio(cpu, direct.get("cpu_s_per_session_min")) if name != "direct" else "")
            + (
                _ratio(cpu, floor.get("cpu_s_per_session_min")).replace(")", " of floor)")
                if floor.get("cpu_s_per_session_min") and name not in ("direct", "floor")
                else ""
            )
        )
        ttfa = f["ttfa_ms"]
        ttfa_text = _pair(_ms(ttfa, "p50"), _ms(ttfa, "p99"))
        added_ttfa = _minus(_ms(ttfa, "p50"), _ms(direct.get("ttfa_ms"), "p50"))
        if name != "direct" and added_ttfa is not None:
            ttfa_text += f" ({added_ttfa:+.1f})"
        search = f.get("search") or {}
        max_n = search.get("max_realtime_sessions")
        max_text = "–" if max_n is None else f"{max_n}{'+' if search.get('capped') else ''}"
        if search.get("fails_at"):
            max_text += f" (fails at {search['fails_at']})"
        startup = f.get("startup_s")
        runs = f.get("startup_runs_s") or []
        startup_text = "–" if startup is None else f"{startup:.2f}"
        if len(runs) > 1:
            startup_text += f" ({min(runs):.2f}-{max(runs):.2f})"
        rows.append(
            " | ".join(
                [
                    f"| {name}",
                    str(f["sessions"]),
                    _pair(_ms(up, "p50"), _ms(up, "p99")),
                    *([_pair(_ms(beyond, "p50"), _ms(beyond, "p99"))] if coalescing else []),
                    "–" if name == "direct" else added_up,
                    _pair(_ms(down, "p50"), _ms(down, "p99")),
                    "–" if name == "direct" else added_down,
                    ttfa_text,
                    cpu_text,
                    f"{f['rss_peak_mb']:.0f} ({f['rss_per_session_mb']:.2f})",
                    "yes" if f["realtime"] else "no",
                    max_text,
                    startup_text,
                ]
            )
            + " |"
        )
    notes = []
    for name, f in results.items():
        if f.get("errors"):
            notes.append(f"{name}: {f['errors']} errors, e.g. {f['error_samples'][:2]}")
        if f.get("lost_chunks") or f.get("missing_replies"):
            notes.append(
                f"{name}: {f['lost_chunks']} chunks lost, {f['missing_replies']} replies missing"
            )
    return "\n".join(rows + notes)
