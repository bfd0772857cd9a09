"""An offer must name a DTLS fingerprint the server can check (RFC 8122), at session or
media level; one without is refused with 400 ``invalid_offer`` before anything is set up
(before, it was answered 201 and its DTLS handshake failed unseen). Real aiortc offers,
rewritten, against ``rtcore serve``; and the check itself on those offers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from rtcore_webrtc.offer import fingerprint_problem
from tests.transports.process import Served
from tests.webrtc.peer import Peer

MASTER = "sk-offers-master"
FINGERPRINT = re.compile(r"^a=fingerprint:.*\r?\n", re.MULTILINE)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    env = {"RTCORE_MASTER_KEY": MASTER, "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--provider", "echo", env=env) as server:
        yield server


@pytest.fixture
async def offer() -> AsyncIterator[str]:
    """An offer as aiortc makes it: audio and the data channel, three fingerprints
    (sha-256, -384, -512) in each media section."""
    peer = Peer()
    await peer.pc.setLocalDescription(await peer.pc.createOffer())
    yield peer.pc.localDescription.sdp
    await peer.close()


def without_fingerprints(sdp: str) -> str:
    return FINGERPRINT.sub("", sdp)


def fingerprints(sdp: str) -> list[str]:
    return [line.rstrip("\r\n") for line in FINGERPRINT.findall(sdp)]


def at_session_level(sdp: str) -> str:
    """Firefox's way: the fingerprints once, before the first media section."""
    lines = list(dict.fromkeys(fingerprints(sdp)))
    bare = without_fingerprints(sdp)
    head, media = bare.split("m=", 1)
    return head + "".join(line + "\r\n" for line in lines) + "m=" + media


def only_hash(name: str) -> Callable[[str], str]:
    """Every fingerprint line relabelled as hash ``name`` (the value kept)."""
    return lambda sdp: re.sub(r"^a=fingerprint:\S+", f"a=fingerprint:{name}", sdp, flags=re.M)


def first_section_only(sdp: str) -> str:
    """The audio section keeps its fingerprints, the data channel's section loses them."""
    head, audio, application = re.split(r"(?=^m=)", sdp, flags=re.M)
    return head + audio + without_fingerprints(application)


def damaged(sdp: str) -> str:
    """The sha-256 fingerprint one byte short; the others as they were."""
    return re.sub(r"^(a=fingerprint:sha-256 \S+):[0-9A-F]{2}(?=\r?$)", r"\1", sdp, flags=re.M)


REFUSED: dict[str, tuple[Callable[[str], str], str]] = {
    "none": (without_fingerprints, "no DTLS fingerprint (a=fingerprint) in media section 1"),
    "unsupported hash": (only_hash("sha-1"), "use sha-1; one of sha-256, sha-384, sha-512"),
    "unknown hash": (only_hash("md-9"), "use md-9"),
    "one section without": (first_section_only, "in media section 2 (application)"),
    "one byte short": (damaged, "sha-256 fingerprint in media section 1 (audio) is malformed"),
    "no value": (
        lambda sdp: re.sub(r"^a=fingerprint:sha-256 \S+", "a=fingerprint:sha-256", sdp, flags=re.M),
        "is malformed: expected 'a=fingerprint:HASH VALUE'",
    ),
    "not hex": (
        lambda sdp: re.sub(r"^(a=fingerprint:sha-384 )\S\S", r"\1ZZ", sdp, flags=re.M),
        "sha-384 fingerprint in media section 1 (audio) is malformed",
    ),
    "session level, unsupported": (
        lambda sdp: only_hash("sha-1")(at_session_level(sdp)),
        "use sha-1",
    ),
}
ACCEPTED: dict[str, Callable[[str], str]] = {
    "as aiortc makes it": lambda sdp: sdp,
    "at session level": at_session_level,
    "upper-case hash names": lambda sdp: sdp.replace("a=fingerprint:sha-", "a=fingerprint:SHA-"),
    "beside one it cannot check": lambda sdp: sdp.replace(
        "a=fingerprint:sha-256", "a=fingerprint:sha-1 AB:CD\r\na=fingerprint:sha-256"
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_is_wrong_with_an_offer_is_said(offer: str, case: str) -> None:
    rewrite, says = REFUSED[case]
    problem = fingerprint_problem(rewrite(offer))
    assert problem is not None
    assert says in problem, problem


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_usable_fingerprints_pass(offer: str, case: str) -> None:
    assert fingerprint_problem(ACCEPTED[case](offer)) is None


def test_an_offer_with_no_media_is_refused() -> None:
    assert fingerprint_problem("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n") == (
        "The SDP offer has no media section (m= line)."
    )


async def _mint(served: Served) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"http://127.0.0.1:{served.port}/v1/realtime/client_secrets",
            json={"session": {"type": "realtime", "model": "echo"}},
            headers={"Authorization": f"Bearer {MASTER}"},
        ) as answer,
    ):
        assert answer.status == 200
        return str((await answer.json())["value"])


@pytest.mark.parametrize("case", ["none", "unsupported hash", "one section without"])
async def test_an_offer_without_a_usable_fingerprint_is_refused_before_set_up(
    served: Served, case: str
) -> None:
    base = f"http://127.0.0.1:{served.port}"
    rewrite, says = REFUSED[case]
    # With a client secret: a refused offer must not spend it.
    secret = await _mint(served)
    refused = Peer()
    try:
        answer = await refused.call(base, secret, rewrite=rewrite)
        assert answer.status == 400
        error = refused.refusal["error"]
        assert error["type"] == "invalid_request_error"
        assert error["code"] == "invalid_offer"
        assert error["param"] == "sdp"
        assert says in error["message"]
    finally:
        await refused.close()
    assert not any("answered" in line for line in served.lines), served.stderr
    # Nothing was set up or spent: the same secret opens a call with a sound offer.
    peer = Peer()
    try:
        assert (await peer.call(base, secret)).status == 201
        await peer.until("session.created", within=60)
    finally:
        await peer.close()


async def test_fingerprints_at_session_level_connect(served: Served) -> None:
    """Firefox writes the fingerprint once, for every section: the call connects."""
    peer = Peer()
    try:
        answer = await peer.call(
            f"http://127.0.0.1:{served.port}", MASTER, model="echo", rewrite=at_session_level
        )
        assert answer.status == 201
        await peer.until("session.created", within=60)
        await peer.opened(within=60)
    finally:
        await peer.close()
