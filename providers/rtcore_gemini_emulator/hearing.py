"""How realtime audio is heard: a blob's bytes and sample rate, and the speech detector
``realtimeInputConfig`` asks for."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from rtcore_emulated_speech.vad import EnergyVad

from .errors import invalid
from .setup import Activity

INPUT_RATE = 16000  # native input rate; others are declared in the mime type (reference §0.5)
# Silence that ends a turn, by endOfSpeechSensitivity (HIGH ends speech sooner); the
# emulator's figures, each below the 2.1 s of silence that ends every tone-coded utterance.
END_SECONDS = {"END_SENSITIVITY_HIGH": 1.0, "END_SENSITIVITY_LOW": 2.0}
DEFAULT_END_SECONDS = 1.0
# Voiced audio before speech counts as started, by startOfSpeechSensitivity.
START_SECONDS = {"START_SENSITIVITY_HIGH": 0.06, "START_SENSITIVITY_LOW": 0.1}
DEFAULT_START_SECONDS = 0.1
# Manual activity: the turn ends at activityEnd, never on silence.
NEVER = 1e9
_RATE = re.compile(r"rate=(\d+)")
_B64_URLSAFE = bytes.maketrans(b"-_", b"+/")


def decode_b64(data: Any) -> bytes:
    """Standard or URL-safe base64 (google-genai sends URL-safe)."""
    if not isinstance(data, str):
        raise invalid("blob data must be a base64 string")
    raw = data.encode("ascii", errors="replace").translate(_B64_URLSAFE)
    try:
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid("blob data is not base64") from None


def rate_of(mime: str) -> int:
    match = _RATE.search(mime)
    return int(match.group(1)) if match else INPUT_RATE


def detector(activity: Activity, rate: int, end_seconds: float) -> EnergyVad:
    if activity.prefix_padding_ms is not None:
        onset = max(0.02, activity.prefix_padding_ms / 1000)
    else:
        onset = START_SECONDS.get(activity.start_sensitivity, DEFAULT_START_SECONDS)
    return EnergyVad(rate, end_seconds, onset_seconds=onset)


def end_seconds(activity: Activity) -> float:
    """The silence that ends a turn under automatic activity detection."""
    if activity.silence_duration_ms is not None:
        return max(0.02, activity.silence_duration_ms / 1000)
    return END_SECONDS.get(activity.end_sensitivity, DEFAULT_END_SECONDS)
