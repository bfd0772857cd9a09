"""A server no one calls over WebRTC never loads WebRTC's media stack (aiortc, PyAV,
pylibsrtp): ``rtcore serve`` started for real, its memory map read from /proc; the first
call loads it."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.transports.process import Served

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/PID/maps")

# The native parts, as mapped into the process (aiortc itself is Python on top of them).
_MEDIA = ("/av/", "/pylibsrtp/")


def _media_loaded(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in _MEDIA if name in maps}


def test_serve_loads_the_media_stack_on_the_first_call_only() -> None:
    with Served("--provider", "echo") as served:
        assert _media_loaded(served.proc.pid) == set()
        # An offer (unusable: no fingerprint) is the first call: it is refused, after the
        # stack it is checked with was loaded.
        request = urllib.request.Request(
            f"http://127.0.0.1:{served.port}/v1/realtime/calls?model=echo",
            data=b"v=0\r\n",
            headers={"Content-Type": "application/sdp"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=60)
        assert refused.value.code == 400
        assert b"invalid_offer" in refused.value.read()
        assert _media_loaded(served.proc.pid) == set(_MEDIA)
