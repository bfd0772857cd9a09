"""A WebRTC call is its key's: another key, a blocked, expired or spent one, another key's
client secret can neither attach a sideband to it nor hang it up (404, as for no call at
all, or the key's own refusal); its key, the secret it minted and the master key can. A
key that may not be used is refused at every door, minting included. Against ``rtcore
serve`` with a master key and virtual keys in SQLite, aiortc peers on loopback."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.keys.conftest import Admin
from tests.transports.process import Served
from tests.transports.turns import user_turn
from tests.webrtc.peer import Peer
from tests.webrtc.test_client_secrets import CONFIG, MASTER, mint, post

OPENED = 101


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    env = {"SECRETS_MASTER": MASTER, "XDG_DATA_HOME": str(tmp_path / "data")}
    async with Served("--config", str(config), env=env) as server:
        yield server


@pytest.fixture
async def admin(served: Served) -> AsyncIterator[Admin]:
    async with aiohttp.ClientSession() as http:
        yield Admin(http, served.port, key=MASTER)


def base(served: Served) -> str:
    return f"http://127.0.0.1:{served.port}"


async def sideband(served: Served, call_id: str, key: str) -> tuple[int, str | None]:
    """The status of a sideband's upgrade (101 when it opened) and the refusal's code. An
    opened one proves it reaches the call: a ``session.update`` is answered on it."""
    url = f"ws://127.0.0.1:{served.port}/v1/realtime?call_id={call_id}"
    try:
        async with connect(
            url, proxy=None, additional_headers={"Authorization": f"Bearer {key}"}
        ) as control:
            update = {"type": "session.update", "session": {"instructions": "Sideband."}}
            await control.send(json.dumps(update))
            async with asyncio.timeout(10):
                while json.loads(await control.recv())["type"] != "session.updated":
                    pass
            return OPENED, None
    except InvalidStatus as refused:
        body = json.loads(refused.response.body or b"{}")
        return refused.response.status_code, body.get("error", {}).get("code")


async def hang_up(
    served: Served, location: str, key: str, *, verb: str = "DELETE"
) -> tuple[int, dict[str, Any]]:
    """``DELETE`` the call, or ``POST .../hangup`` (``verb="POST"``)."""
    url = base(served) + location + ("/hangup" if verb == "POST" else "")
    async with (
        aiohttp.ClientSession() as http,
        http.request(verb, url, headers={"Authorization": f"Bearer {key}"}) as answer,
    ):
        return answer.status, await answer.json()


def code(answer: tuple[int, dict[str, Any]]) -> tuple[int, str]:
    return answer[0], answer[1].get("error", {}).get("code") or answer[1].get("status")


async def expired_key(admin: Admin) -> str:
    """A key that has expired (waited for by the clock the server reads too)."""
    status, made = await admin.post("/key/generate", {"duration": "1s"})
    assert status == 200, made
    expires = datetime.datetime.fromisoformat(made["expires"])
    await asyncio.sleep((expires - datetime.datetime.now(datetime.UTC)).total_seconds() + 0.05)
    return str(made["key"])


async def blocked_key(admin: Admin) -> str:
    key = await admin.generate()
    status, updated = await admin.post("/key/update", {"key": key, "blocked": True})
    assert status == 200, updated
    assert updated["blocked"]
    return key


async def test_only_its_key_and_the_master_key_reach_a_call(served: Served, admin: Admin) -> None:
    owner, other = await admin.generate(), await admin.generate()
    blocked, spent, expired = (
        await blocked_key(admin),
        await admin.generate(max_budget=0),
        await expired_key(admin),
    )
    others_secret = await mint(served, other, session={"type": "realtime", "model": "echo"})
    peer = Peer()
    try:
        assert (await peer.call(base(served), owner, model="echo")).status == 201
        await peer.until("session.created")
        await peer.opened()
        assert peer.location is not None
        call_id = peer.location.rsplit("/", 1)[1]

        # Another key's attempts are answered as if there were no such call.
        assert await sideband(served, call_id, other) == (404, "call_not_found")
        assert await sideband(served, "rtc_nope", other) == (404, "call_not_found")
        for verb in ("DELETE", "POST"):
            assert code(await hang_up(served, peer.location, other, verb=verb)) == (
                404,
                "call_not_found",
            )
            assert code(await hang_up(served, peer.location, others_secret, verb=verb)) == (
                404,
                "call_not_found",
            )
        # Keys that may not be used now get their own refusal, as at any door.
        for key, refusal in (
            (blocked, (401, "key_blocked")),
            (expired, (401, "key_expired")),
            (spent, (429, "budget_exceeded")),
        ):
            assert await sideband(served, call_id, key) == refusal
            for verb in ("DELETE", "POST"):
                assert code(await hang_up(served, peer.location, key, verb=verb)) == refusal
        # A client secret never attaches, even its key's.
        assert await sideband(served, call_id, others_secret) == (401, "invalid_api_key")

        # The call went on through all of it.
        mark = len(peer.events)
        for event in user_turn("Still here?", ["text"]):
            await peer.send(event)
        done = await peer.until("response.done", after=mark)
        assert done["response"]["status"] == "completed"
        # Its key and the master key attach (the browser sees their updates).
        mark = len(peer.events)
        assert await sideband(served, call_id, owner) == (OPENED, None)
        assert await sideband(served, call_id, MASTER) == (OPENED, None)
        await peer.until("session.updated", after=mark)

        closed = asyncio.Event()
        peer.channel.on("close", closed.set)
        assert code(await hang_up(served, peer.location, owner)) == (200, "hung_up")
        # An ended call is no call: hanging up again, either way, is 404.
        for verb in ("DELETE", "POST"):
            assert code(await hang_up(served, peer.location, owner, verb=verb)) == (
                404,
                "call_not_found",
            )
        async with asyncio.timeout(10):
            await closed.wait()
    finally:
        await peer.close()


async def test_the_secret_a_call_opened_with_and_the_master_key_hang_it_up(
    served: Served, admin: Admin
) -> None:
    owner, other = await admin.generate(), await admin.generate()
    by_secret, by_owner, by_master = Peer(), Peer(), Peer()
    try:
        # A browser's call, with a secret its server minted: the secret hangs it up.
        secret = await mint(served, owner, session={"type": "realtime", "model": "echo"})
        assert (await by_secret.call(base(served), secret)).status == 201
        await by_secret.until("session.created")
        assert by_secret.location is not None
        assert code(await hang_up(served, by_secret.location, secret, verb="POST")) == (
            200,
            "hung_up",
        )

        # The master key hangs up any key's call.
        assert (await by_owner.call(base(served), owner, model="echo")).status == 201
        await by_owner.until("session.created")
        assert by_owner.location is not None
        assert code(await hang_up(served, by_owner.location, MASTER)) == (200, "hung_up")
        assert code(await hang_up(served, by_owner.location, owner)) == (404, "call_not_found")

        # A call the master key opened is no virtual key's.
        assert (await by_master.call(base(served), MASTER, model="echo")).status == 201
        await by_master.until("session.created")
        assert by_master.location is not None
        call_id = by_master.location.rsplit("/", 1)[1]
        assert code(await hang_up(served, by_master.location, other)) == (404, "call_not_found")
        assert await sideband(served, call_id, other) == (404, "call_not_found")
        assert code(await hang_up(served, by_master.location, MASTER)) == (200, "hung_up")
    finally:
        for peer in (by_secret, by_owner, by_master):
            await peer.close()


async def test_a_key_that_may_not_be_used_is_refused_at_every_door(
    served: Served, admin: Admin
) -> None:
    # A secret minted while its key was good is refused once the key is blocked.
    turned = await admin.generate()
    minted_before = await mint(served, turned, session={"type": "realtime", "model": "echo"})
    status, _ = await admin.post("/key/update", {"key": turned, "blocked": True})
    assert status == 200
    cases = [
        (await blocked_key(admin), (401, "key_blocked")),
        (await expired_key(admin), (401, "key_expired")),
        (await admin.generate(max_budget=0), (429, "budget_exceeded")),
        (minted_before, (401, "key_blocked")),
    ]
    for key, refusal in cases:
        peer = Peer()
        try:
            answer = await peer.call(base(served), key, model="echo")
            assert (answer.status, peer.refusal["error"]["code"]) == refusal
        finally:
            await peer.close()
        with pytest.raises(InvalidStatus) as upgrade:
            async with connect(
                f"ws://127.0.0.1:{served.port}/v1/realtime?model=echo",
                proxy=None,
                additional_headers={"Authorization": f"Bearer {key}"},
            ):
                pass
        body = json.loads(upgrade.value.response.body)
        assert (upgrade.value.response.status_code, body["error"]["code"]) == refusal
        if key == minted_before:
            continue  # a secret mints nothing and attaches to nothing anyway
        for path, body in (
            ("/v1/realtime/client_secrets", {"session": {"type": "realtime", "model": "echo"}}),
            ("/v1/realtime/client_secrets", {}),
            ("/v1/realtime/sessions", {"model": "echo"}),
        ):
            assert code(await post(served, path, body, key)) == refusal, path
        # Refused before the call is looked for: the refusal, not a 404.
        assert await sideband(served, "rtc_nope", key) == refusal
    # A key limited to some models mints for those only.
    only_echo = await admin.generate(models=["echo"])
    session = {"session": {"type": "realtime", "model": "other"}}
    assert code(await post(served, "/v1/realtime/client_secrets", session, only_echo)) == (
        403,
        "model_not_allowed",
    )
    await mint(served, only_echo, session={"type": "realtime", "model": "echo"})
