"""From raw timestamps to figures: per-chunk latencies, time to first audio, real time."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from bench import speech as sig

_MS = 1e-6  # ns -> ms
REALTIME_LIMIT_MS = 100.0


def _pct(values: list[float] | np.ndarray, q: float) -> float | None:
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50": _pct(values, 50),
        "p99": _pct(values, 99),
        "max": max(values) if values else None,
    }


def phase_figures(
    load: dict[str, Any], emu: dict[str, Any], *, coalescing: bool = True
) -> dict[str, Any]:
    """Latency figures of one phase: ``load`` from bench.load, ``emu`` from the probe
    (either emulator's: chunk markers on each stream's audio timeline, output sizes).
    ``coalescing``: whether the gateway may hold audio back to group it (rtcore does for
    Nova Sonic, not for Gemini Live); without it there is no figure beyond coalescing."""
    sessions = {s["session"]: s for s in load["sessions"]}
    chunks, trigger = load["cycle"]["chunks"], load["cycle"]["trigger"]
    up: list[float] = []
    beyond: list[float] = []
    per_event: list[int] = []
    seen: dict[int, set[int]] = defaultdict(set)
    groups: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    window_start_ns = int(load["window"][0] * 1e9)
    late_at: list[float] = []  # seconds into the phase of each chunk past the limit
    for session, seq, at, stream, event, _count in emu["received"]:
        record = sessions.get(session)
        if record is None or seq >= len(record["sends"]):
            continue
        latency = (at - record["sends"][seq]) * _MS
        up.append(latency)
        if latency > REALTIME_LIMIT_MS:
            late_at.append((record["sends"][seq] - window_start_ns) / 1e9)
        seen[session].add(seq)
        groups[(stream, event)].append((session, seq, at))
    for rows in groups.values():
        session, last, at = max(rows, key=lambda r: r[1])
        beyond.append((at - sessions[session]["sends"][last]) * _MS)
        per_event.append(len(rows))

    down: list[float] = []
    streams: dict[int, list[str]] = defaultdict(list)
    for key in emu["sent"]:
        streams[int(key.split(":")[0])].append(key)
    for session, keys in streams.items():
        record = sessions.get(session)
        if record is None or not record["deltas"] or not all(emu["sent"][k] for k in keys):
            continue
        deltas = np.asarray(record["deltas"], dtype=np.int64)
        # A session rotated (or recovered) onto new streams: its output is theirs in the
        # order they started, each continuing the client's byte count where the last
        # left off (a rotation waits for a turn boundary, so no reply spans two).
        joined: list[tuple[int, int]] = []
        for key in sorted(keys, key=lambda k: emu["sent"][k][0][1]):
            base = joined[-1][0] if joined else 0
            joined += [(base + total, at) for total, at in emu["sent"][key]]
        sent = np.asarray(joined, dtype=np.int64)
        index = np.searchsorted(deltas[:, 0], sent[:, 0], side="left")
        ok = index < len(deltas)
        down += ((deltas[index[ok], 1] - sent[ok, 1]) * _MS).tolist()

    ttfa: list[float] = []
    missing_replies = lost = 0
    late = 0.0
    for record in sessions.values():
        sends = record["sends"]
        late = max(late, record["late_ms"])
        arrived: np.ndarray = np.asarray([t for _, t in record["deltas"]], dtype=np.int64)
        # Chunks sent more than a second before the end must have arrived.
        settled = [seq for seq in range(len(sends)) if sends[-1] - sends[seq] > 1e9]
        lost += sum(1 for seq in settled if seq not in seen[record["session"]])
        phase = record["phase"]
        period = sig.CHUNK_MS * 1_000_000
        for seq in range(len(sends)):
            if (seq + phase) % chunks != trigger or seq < trigger:
                continue
            at = sends[seq]
            # A reply to a turn that ended in the last 2 s may still be on its way.
            if sends[-1] - at < 2 * 1_000_000_000:
                continue
            pos = int(np.searchsorted(arrived, at))
            if pos < len(arrived) and arrived[pos] - at < chunks * period:
                ttfa.append((int(arrived[pos]) - at) * _MS)
            else:
                missing_replies += 1
    errors = [e for s in sessions.values() for e in s["errors"]]
    connected = sum(1 for s in sessions.values() if s["connected"])
    figures = {
        "sessions": len(sessions),
        "connected": connected,
        "errors": len(errors),
        "error_samples": errors[:5],
        "up_ms": _summary(up),
        **({"up_beyond_coalescing_ms": _summary(beyond)} if coalescing else {}),
        # When the late chunks were sent: one burst (a pause of some process) or spread out.
        "up_late": {"count": len(late_at), "at_s": sorted({round(t, 1) for t in late_at})[:20]},
        "chunks_per_upstream_event": float(np.mean(per_event)) if per_event else None,
        "down_ms": _summary(down),
        "ttfa_ms": _summary(ttfa),
        "lost_chunks": lost,
        "missing_replies": missing_replies,
        # The primer's silent chunks carry no marker.
        "unmarked_chunks": max(
            0, emu.get("unmarked", 0) - sum(s.get("primed", 0) for s in sessions.values())
        ),
        "late_send_ms": late,
    }
    figures["realtime"] = is_realtime(figures)
    return figures


def is_realtime(f: dict[str, Any]) -> bool:
    """Every chunk within 100 ms each way, every reply heard, no error, sender on time."""
    worst = [f["up_ms"]["max"], f["down_ms"]["max"]]
    return (
        f["connected"] == f["sessions"]
        and f["errors"] == 0
        and f["lost_chunks"] == 0
        and f["missing_replies"] == 0
        and f["ttfa_ms"]["count"] > 0
        and all(w is not None and w <= REALTIME_LIMIT_MS for w in worst)
        and f["late_send_ms"] <= REALTIME_LIMIT_MS
    )
