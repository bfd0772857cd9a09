"""A short run of the benchmark harness (direct and rtcore, two sessions), so it never rots.

It checks that the harness produced complete, sane figures, never how fast anything was.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_harness_smoke_run(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    command = [sys.executable, "-m", "bench", "-n", "2", "--seconds", "6"]
    command += ["--targets", "direct,rtcore", "--startups", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| direct | 2 |" in done.stdout
    assert "| rtcore | 2 |" in done.stdout
    report = json.loads(out.read_text())
    assert report["machine"]["nproc"] >= 1
    for name in ("direct", "rtcore"):
        figures = report["targets"][name]
        assert figures["connected"] == figures["sessions"] == 2
        assert figures["errors"] == 0, figures["error_samples"]
        assert figures["lost_chunks"] == 0
        assert figures["unmarked_chunks"] == 0
        for key in ("up_ms", "up_beyond_coalescing_ms", "down_ms", "ttfa_ms"):
            summary = figures[key]
            assert summary["count"] > 0, key
            assert 0 <= summary["p50"] <= summary["p99"] <= summary["max"], key
        # Every chunk sent reached the emulator, marked, in order of sending.
        assert figures["up_ms"]["count"] >= 2 * 6 * 50 * 0.9
        assert figures["cpu_s_per_session_min"] > 0
        assert figures["rss_peak_mb"] > 0
    rtcore = report["targets"]["rtcore"]
    assert len(rtcore["startup_runs_s"]) == 2
    assert all(0 < seconds < 60 for seconds in rtcore["startup_runs_s"])
    assert min(rtcore["startup_runs_s"]) <= rtcore["startup_s"] <= max(rtcore["startup_runs_s"])
    assert report["loop"] == "auto"


@pytest.mark.slow
def test_gemini_harness_smoke_run(tmp_path: Path) -> None:
    """``--provider gemini``: google-genai straight to the Gemini Live emulator against
    rtcore in front of it, in one run; LiteLLM said to be skipped, not run."""
    out = tmp_path / "gemini.json"
    command = [sys.executable, "-m", "bench", "--provider", "gemini", "-n", "2"]
    command += ["--seconds", "6", "--targets", "direct,rtcore,litellm", "--startups", "1"]
    command += ["--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("provider: Gemini Live (direct: google-genai)")
    assert "| direct | 2 |" in done.stdout
    assert "| rtcore | 2 |" in done.stdout
    assert "beyond coalescing" not in done.stdout
    report = json.loads(out.read_text())
    assert report["provider"] == "gemini"
    assert report["model"] == "gemini-3.8-live"
    assert "not measured for Gemini Live" in report["targets"]["litellm"]["skipped"]
    for name in ("direct", "rtcore"):
        figures = report["targets"][name]
        assert figures["connected"] == figures["sessions"] == 2
        assert figures["errors"] == 0, figures["error_samples"]
        assert figures["lost_chunks"] == 0
        assert figures["unmarked_chunks"] == 0
        assert figures["missing_replies"] == 0
        assert "up_beyond_coalescing_ms" not in figures
        for key in ("up_ms", "down_ms", "ttfa_ms"):
            summary = figures[key]
            assert summary["count"] > 0, key
            assert 0 <= summary["p50"] <= summary["p99"] <= summary["max"], key
        assert figures["up_ms"]["count"] >= 2 * 6 * 50 * 0.9
        # Each chunk a realtimeInput of its own, whoever sent it.
        assert figures["chunks_per_upstream_event"] == 1.0
        assert figures["cpu_s_per_session_min"] > 0
        assert figures["rss_peak_mb"] > 0
    assert report["targets"]["rtcore"]["startup_runs_s"]


@pytest.mark.slow
def test_openai_harness_smoke_run(tmp_path: Path) -> None:
    """``--provider openai``: the openai SDK straight to the OpenAI Realtime emulator against
    rtcore in front of it, in one run, at 24 kHz (nothing converted, so every marker reads);
    LiteLLM said to be skipped, not run."""
    out = tmp_path / "openai.json"
    command = [sys.executable, "-m", "bench", "--provider", "openai", "-n", "2"]
    command += ["--seconds", "6", "--targets", "direct,rtcore,litellm", "--startups", "1"]
    command += ["--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("provider: OpenAI Realtime (direct: openai)")
    assert "| direct | 2 |" in done.stdout
    assert "| rtcore | 2 |" in done.stdout
    assert "beyond coalescing" not in done.stdout
    report = json.loads(out.read_text())
    assert report["provider"] == "openai"
    assert report["model"] == "gpt-realtime-2"
    assert "not measured for OpenAI Realtime" in report["targets"]["litellm"]["skipped"]
    for name in ("direct", "rtcore"):
        figures = report["targets"][name]
        assert figures["connected"] == figures["sessions"] == 2
        assert figures["errors"] == 0, figures["error_samples"]
        assert figures["lost_chunks"] == 0
        assert figures["unmarked_chunks"] == 0
        assert figures["missing_replies"] == 0
        assert "up_beyond_coalescing_ms" not in figures
        for key in ("up_ms", "down_ms", "ttfa_ms"):
            summary = figures[key]
            assert summary["count"] > 0, key
            assert 0 <= summary["p50"] <= summary["p99"] <= summary["max"], key
        assert figures["up_ms"]["count"] >= 2 * 6 * 50 * 0.9
        # Each chunk an input_audio_buffer.append of its own, whoever sent it.
        assert figures["chunks_per_upstream_event"] == 1.0
        assert figures["cpu_s_per_session_min"] > 0
        assert figures["rss_peak_mb"] > 0
    assert report["targets"]["rtcore"]["startup_runs_s"]


@pytest.mark.parametrize("provider", ["gemini", "openai"])
def test_provider_other_than_nova_refuses_what_only_nova_has(provider: str) -> None:
    for flags in (
        ["--coalesce-ms", "0"],
        ["--keys"],
        ["--observability"],
        ["--failover"],
        ["--mcp"],
    ):
        command = [sys.executable, "-m", "bench", "--provider", provider, *flags]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, flags
        assert "python -m bench: error:" in done.stderr


@pytest.mark.slow
def test_observability_harness_smoke_run(tmp_path: Path) -> None:
    """``--observability`` runs both modes in ABBA order and reports their ratio (how big
    it is is the benchmark's to say, not this test's)."""
    out = tmp_path / "observability.json"
    command = [sys.executable, "-m", "bench", "--observability", "-n", "2", "--seconds", "4"]
    command += ["--rounds", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "on / off:" in done.stdout
    report = json.loads(out.read_text())
    figures = report["cpu_s_per_session_min"]
    assert len(figures["off"]) == len(figures["on"]) == 2
    assert all(value > 0 for values in figures.values() for value in values)
    assert report["ratio_on_off"] == pytest.approx(report["median_on"] / report["median_off"])
    # The ABBA order, as the log tells it.
    order = [line.split()[1] for line in done.stderr.splitlines() if "round" in line]
    assert order == ["off", "on", "on", "off"], order


@pytest.mark.slow
def test_mcp_harness_smoke_run(tmp_path: Path) -> None:
    """``--mcp`` runs sessions without and with an MCP server attached in ABBA order, every
    session of the "with" phases having its server's tools listed before the window (the
    load generator fails the phase otherwise), and reports the ratios."""
    out = tmp_path / "mcp.json"
    command = [sys.executable, "-m", "bench", "--mcp", "-n", "2", "--seconds", "4"]
    command += ["--rounds", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "with/without" in done.stdout
    report = json.loads(out.read_text())
    figures = report["cpu_s_per_session_min"]
    assert len(figures["without"]) == len(figures["with"]) == 2
    assert all(value > 0 for values in figures.values() for value in values)
    assert report["ratio_with_without"] == pytest.approx(
        report["median_with"] / report["median_without"]
    )
    for kind in ("without", "with"):
        assert len(report["latency"][kind]["up_p50_ms"]) == 2
    assert set(report["latency_ratios_with_without"]) == {
        "first_audio_p50_ms",
        "up_p50_ms",
        "up_p99_ms",
    }
    order = [line.split()[1] for line in done.stderr.splitlines() if "round" in line]
    assert order == ["without", "with", "with", "without"], order


@pytest.mark.slow
def test_webrtc_harness_smoke_run(tmp_path: Path) -> None:
    """``--webrtc`` runs WebSocket and WebRTC sessions in ABBA order, every turn answered
    both ways (the figures' size is the benchmark's to say)."""
    out = tmp_path / "webrtc.json"
    command = [sys.executable, "-m", "bench", "--webrtc", "-n", "1", "--seconds", "4"]
    command += ["--rounds", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    for kind in ("websocket", "webrtc"):
        assert len(report["cpu_s_per_session_min"][kind]) == 2
        assert all(value > 0 for value in report["cpu_s_per_session_min"][kind])
        for counts in report["counts"][kind]:
            assert counts["errors"] == 0
            assert counts["replies"] >= 1
    assert "webrtc / websocket:" in done.stdout


@pytest.mark.slow
def test_webrtc_calls_harness_smoke_run(tmp_path: Path) -> None:
    """``--webrtc-calls`` opens and closes batches of calls and reads the gateway's
    threads, descriptors and RSS with the calls up and after they ended."""
    out = tmp_path / "calls.json"
    command = [sys.executable, "-m", "bench", "--webrtc-calls", "-n", "2", "--rounds", "2"]
    command += ["--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["errors"] == 0
    cold = report["cold"]
    assert len(report["batches_figures"]) == 2
    for row in report["batches_figures"]:
        # Up: a decoder thread and a socket per call at least; ended: back.
        assert row["live"]["threads"] >= cold["threads"] + 2
        assert row["live"]["fds"] >= cold["fds"] + 2
        assert row["return_s"] is not None
        assert row["ended"]["fds"] == cold["fds"]
    assert "| batch 2, ended | 4 |" in done.stdout


@pytest.mark.slow
def test_failover_harness_smoke_run(tmp_path: Path) -> None:
    """``--failover`` runs steady and failover phases in ABBA order: sessions really move
    (the server counts the switches, the client sees each cut reply failed once and its
    reply asked again answered), and the gaps and CPU figures are printed (their size is
    the benchmark's to say)."""
    out = tmp_path / "failover.json"
    command = [sys.executable, "-m", "bench", "--failover", "-n", "2", "--seconds", "20"]
    command += ["--rounds", "2", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for text in ("added by the move:", "rtcore_upstream_switch_gap_seconds:", "failover / steady:"):
        assert text in done.stdout, text
    report = json.loads(out.read_text())
    assert report["closed_early"] == []
    # Each 20 s session speaks at least twice; its second reply and on are cut.
    assert report["switches"] >= 2
    assert report["failed_replies"]["failover"] >= 2
    assert report["failed_replies"]["steady"] == 0
    assert report["errors"]["steady"] == 0
    assert report["cuts"]["steady"] >= 4
    for kind in ("steady", "failover"):
        gap = report["gap_ms"][kind]
        assert gap["count"] >= 2, kind
        assert 0 < gap["p50"] <= gap["p99"] <= gap["max"], kind
        assert len(report["cpu_s_per_session_min"][kind]) == 2
        assert all(value > 0 for value in report["cpu_s_per_session_min"][kind])
    for phase in report["phases"]:
        if phase["kind"] == "failover":
            # Every move counted by the server was logged with its gap, and vice versa.
            assert phase["switches_total"] == phase["switch_gap_count"]
            assert len(phase["server_gaps_s"]) == phase["switches_total"] >= 1
            # The client saw every move: each one reply failed, and asked again.
            assert phase["failed_replies"] == phase["switches_total"]
            assert len(phase["gaps_s"]) == phase["switches_total"]
        else:
            assert phase["switches_total"] == 0
    assert report["server_gap_ms"]["count"] == report["switches"]
    order = [line.split()[1] for line in done.stderr.splitlines() if "round" in line]
    assert order == ["steady", "failover", "failover", "steady"], order


@pytest.mark.slow
def test_coalescing_floor_smoke_run(tmp_path: Path) -> None:
    """The coalescing floor (the SDK client batching three chunks to an event, a client per
    session) beside direct and rtcore, in one run: its events hold three chunks each, and
    rtcore's CPU is given against it too."""
    out = tmp_path / "floor.json"
    command = [sys.executable, "-m", "bench", "-n", "2", "--seconds", "6"]
    command += ["--targets", "direct,floor,rtcore", "--startups", "1", "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "| floor | 2 |" in done.stdout
    assert " of floor)" in done.stdout
    report = json.loads(out.read_text())
    floor = report["targets"]["floor"]
    assert floor["connected"] == floor["sessions"] == 2
    assert floor["errors"] == 0, floor["error_samples"]
    assert floor["lost_chunks"] == 0
    assert floor["chunks_per_upstream_event"] == 3.0
    assert floor["cpu_s_per_session_min"] > 0
    # rtcore sends some chunks at once (the end-of-turn window), the rest three to an event.
    assert 1.0 < report["targets"]["rtcore"]["chunks_per_upstream_event"] < 3.0
