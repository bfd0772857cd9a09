"""``python -m bench --observability``: what metrics and JSON logs cost on the audio path.

The same phase as the main benchmark (N sessions streaming in real time through
``rtcore serve`` to the Nova Sonic emulator, the real provider and SDK), run with the
server's observability off (``--no-metrics``, warnings only) and on (Prometheus metrics,
``--log-format json`` at info, the access log), in rounds of off/on then on/off (ABBA), so
that the machine's noise and any drift over the run fall on both alike. The figure is the
gateway's CPU seconds per session-minute: the median of the rounds of each, and their
ratio.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import abba, run, targets

MODES = {
    "off": ["--no-metrics", "--log-level", "warning"],
    "on": ["--log-format", "json", "--log-level", "info"],
}
TARGET_RATIO = 1.03


async def main(args: argparse.Namespace, rounds: int = 4) -> dict[str, Any]:
    out = run.output_path(args)  # checked before the run
    figures: dict[str, list[float]] = {mode: [] for mode in MODES}
    realtime: dict[str, list[bool]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="rtcore-bench-obs-") as tmp:
        workdir = Path(tmp)
        emulator = await targets.Emulator.start(workdir / "certs", loop=args.loop)
        try:
            for index, mode in abba.phases(tuple(MODES), rounds):
                flags = MODES[mode]
                print(
                    f"observability {mode} (round {index + 1}/{rounds}): "
                    f"{args.sessions} sessions for {args.seconds:g} s",
                    file=sys.stderr,
                )
                gateway = await targets.start_rtcore(
                    emulator, workdir, workers=1, options={}, loop=args.loop, extra=flags
                )
                try:
                    phase = await run.run_phase(
                        "rtcore",
                        args.sessions,
                        args.seconds,
                        emulator,
                        gateway,
                        workdir,
                        loop=args.loop,
                    )
                finally:
                    await gateway.stop()
                if "failed" in phase:
                    raise SystemExit(f"observability {mode}: {phase['failed']}")
                figures[mode].append(phase["cpu_s_per_session_min"])
                realtime[mode].append(bool(phase.get("realtime")))
        finally:
            await emulator.stop()
    return abba.report(args, out, rounds, figures, table, realtime=realtime)


def table(report: dict[str, Any]) -> str:
    rows = report["cpu_s_per_session_min"]
    lines = [
        f"rtcore CPU s per session-minute, {report['sessions']} sessions x "
        f"{report['seconds']:g} s, {report['rounds']} rounds each (ABBA order)",
        f"  off (--no-metrics, warnings only): {', '.join(f'{v:.4f}' for v in rows['off'])}"
        f"  median {report['median_off']:.4f}",
        f"  on  (metrics, JSON logs at info):  {', '.join(f'{v:.4f}' for v in rows['on'])}"
        f"  median {report['median_on']:.4f}",
    ]
    ratio = report["ratio_on_off"]
    if ratio is not None:
        verdict = "within" if ratio <= TARGET_RATIO else "OVER"
        lines.append(f"  on / off: {ratio:.3f} ({verdict} the {TARGET_RATIO:.2f} target)")
    return "\n".join(lines)
