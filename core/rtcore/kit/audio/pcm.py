"""PCM16 helpers an upstream writer needs (no I/O)."""

from __future__ import annotations


def frames(pcm: bytes, max_bytes: int) -> list[bytes]:
    """``pcm`` split into pieces of at most ``max_bytes``, for an upstream that wants its
    audio in small frames."""
    if len(pcm) <= max_bytes:
        return [pcm]
    return [pcm[i : i + max_bytes] for i in range(0, len(pcm), max_bytes)]


def silence(rate: int, seconds: float) -> bytes:
    """``seconds`` of PCM16 mono silence at ``rate``."""
    return bytes(int(rate * seconds) * 2)
