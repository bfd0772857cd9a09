"""What a thread frees comes back to the system once the reclaim has run: glibc's trim and
mapping thresholds held (``hold_thresholds``), a thread's arena gives back its free top
even after a large block raised them. Run in a fresh process each, as a gateway runs."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(ctypes.CDLL(None), "mallopt"),
    reason="glibc only: other C libraries have no such thresholds",
)

MB = 2**20
# A thread frees a large block (as FFmpeg's buffers are, or a batch of frames), then 4 MB in
# blocks of 64 KB, then the reclaim gives back what it can: how much of the 4 MB stays.
THREAD = """
import ctypes, os, sys, threading

from rtcore_webrtc import reclaim

libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

kept = []

def work():
    big = libc.malloc(8 << 20)
    ctypes.memset(big, 1, 8 << 20)
    libc.free(big)
    before = rss()
    blocks = [libc.malloc(64 << 10) for _ in range(64)]
    for block in blocks:
        ctypes.memset(block, 1, 64 << 10)
    for block in blocks:
        libc.free(block)
    reclaim.give_back()
    kept.append(rss() - before)

if sys.argv[1] == "held":
    assert reclaim.hold_thresholds()
thread = threading.Thread(target=work)
thread.start()
thread.join()
print(kept[0])
"""


def _kept(how: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", THREAD, how], capture_output=True, text=True, timeout=60, check=True
    )
    return int(done.stdout)


def test_a_threads_freed_memory_comes_back_with_the_thresholds_held() -> None:
    assert _kept("held") < 1 * MB


def test_without_them_the_arena_keeps_it() -> None:
    """What the held thresholds are for: glibc's own raise them past the 4 MB, and neither
    a free nor ``malloc_trim`` then returns the arena's top."""
    assert _kept("glibc's own") > 3 * MB
