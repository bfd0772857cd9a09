"""Downstream latency of a session whose output came over two streams (a rotation, as every
session of a soak past 6 minutes has): matched across both, not dropped."""

from __future__ import annotations

from typing import Any

from bench.analyze import phase_figures

MS = 1_000_000


def _phase(sent: dict[str, list[tuple[int, int]]], deltas: list[tuple[int, int]]) -> Any:
    load = {
        "window": [0.0, 10.0],
        "cycle": {"chunks": 10, "trigger": 5},
        "sessions": [
            {
                "session": 7,
                "phase": 0,
                "sends": [],
                "deltas": deltas,
                "errors": [],
                "connected": True,
                "late_ms": 0.0,
            }
        ],
    }
    return phase_figures(load, {"received": [], "sent": sent, "unmarked": 0})


def test_output_over_two_streams_is_matched_on_both() -> None:
    # Stream 1 sent 2 x 100 bytes, then the session rotated to stream 2 (2 x 100 more);
    # the client counts its bytes across both: 100, 200, 300, 400, each 5 ms after.
    sent = {
        "7:1": [(100, 10 * MS), (200, 20 * MS)],
        "7:2": [(100, 30 * MS), (200, 40 * MS)],
    }
    deltas = [(100, 15 * MS), (200, 25 * MS), (300, 35 * MS), (400, 45 * MS)]
    down = _phase(sent, deltas)["down_ms"]
    assert down["count"] == 4
    assert down["max"] == 5.0


def test_streams_are_taken_in_the_order_they_started() -> None:
    sent = {"7:9": [(100, 30 * MS)], "7:3": [(100, 10 * MS)]}  # ids say nothing of order
    deltas = [(100, 12 * MS), (200, 33 * MS)]
    down = _phase(sent, deltas)["down_ms"]
    assert down["count"] == 2
    assert down["max"] == 3.0


def test_without_coalescing_there_is_no_figure_beyond_it() -> None:
    """Gemini Live: rtcore sends each chunk as it comes, so the figure is left out."""
    load = {
        "window": [0.0, 10.0],
        "cycle": {"chunks": 10, "trigger": 5},
        "sessions": [
            {
                "session": 1,
                "phase": 0,
                "sends": [0, 20 * MS],
                "deltas": [],
                "errors": [],
                "connected": True,
                "late_ms": 0.0,
            }
        ],
    }
    # Two chunks, each a realtimeInput of its own (events 0 and 1) on stream 9.
    emu = {"received": [(1, 0, 2 * MS, 9, 0, 1), (1, 1, 23 * MS, 9, 1, 1)], "sent": {}}
    gemini = phase_figures(load, {**emu, "unmarked": 0}, coalescing=False)
    assert "up_beyond_coalescing_ms" not in gemini
    assert gemini["up_ms"]["count"] == 2
    assert gemini["up_ms"]["max"] == 3.0
    assert gemini["chunks_per_upstream_event"] == 1.0
    nova = phase_figures(load, {**emu, "unmarked": 0})
    assert nova["up_beyond_coalescing_ms"] == nova["up_ms"]
