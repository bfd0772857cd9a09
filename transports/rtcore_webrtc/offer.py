"""What an SDP offer must carry before a call is set up for it: a DTLS fingerprint that can
be checked.

The peer's certificate is authenticated by the fingerprint its offer names (RFC 8122).
aiortc takes an offer without one, answers it, and the DTLS handshake then fails in the
background: the client holds a 201 and a call that never connects. So an offer is looked at
first: every media section aiortc sets up (audio, video, the data channel's application
section) needs, at session or media level, a fingerprint with a hash aiortc can check, and
every fingerprint with such a hash must be well formed (aiortc requires all of them to
match the certificate, so a broken one fails the handshake as surely as none).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiortc.rtcdtlstransport import X509_DIGEST_ALGORITHMS

# The hash functions aiortc checks a certificate with, and their digest sizes (bytes).
DIGEST_BYTES = {name: hash_.digest_size for name, hash_ in X509_DIGEST_ALGORITHMS.items()}
_KINDS = ("audio", "video", "application")
_HEX_PAIRS = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})*")


@dataclass
class _Section:
    where: str  # for the message: "session level", "media section 1 (audio)"
    kind: str | None = None
    usable: int = 0
    unsupported: list[str] = field(default_factory=list)


def fingerprint_problem(sdp: str) -> str | None:
    """Why the offer has no usable DTLS fingerprint (a sentence for the client), or None."""
    session = _Section("at session level")
    media: list[_Section] = []
    current = session
    for raw in sdp.splitlines():
        line = raw.strip()
        if line.startswith("m="):
            kind = line[2:].split(" ", 1)[0]
            current = _Section(f"in media section {len(media) + 1} ({kind})", kind=kind)
            media.append(current)
        elif line.startswith("a=fingerprint:"):
            problem = _take(current, line[len("a=fingerprint:") :])
            if problem is not None:
                return problem
    if not media:
        return "The SDP offer has no media section (m= line)."
    for section in media:
        if section.kind not in _KINDS or section.usable or session.usable:
            continue
        named = sorted({*session.unsupported, *section.unsupported})
        if named:
            return (
                f"The SDP offer's DTLS fingerprints {section.where} use "
                f"{', '.join(named)}; one of {', '.join(DIGEST_BYTES)} is needed."
            )
        return (
            f"The SDP offer has no DTLS fingerprint (a=fingerprint) {section.where}: the "
            "peer's certificate could not be authenticated."
        )
    return None


def _take(section: _Section, value: str) -> str | None:
    parts = value.split()
    if len(parts) != 2:
        return (
            f"The SDP offer's a=fingerprint {section.where} is malformed: expected "
            f"'a=fingerprint:HASH VALUE', got 'a=fingerprint:{value[:120]}'."
        )
    algorithm, digest = parts[0].lower(), parts[1]
    size = DIGEST_BYTES.get(algorithm)
    if size is None:
        section.unsupported.append(algorithm[:40])
        return None
    if not _HEX_PAIRS.fullmatch(digest) or len(digest.split(":")) != size:
        return (
            f"The SDP offer's {algorithm} fingerprint {section.where} is malformed: expected "
            f"{size} colon-separated hex bytes."
        )
    section.usable += 1
    return None
