"""The seeded attack corpus (tests/keys/attack_corpus.py) against a real ``rtcore serve``
with a SQLite key store, over real sockets: every case is answered with a 4xx in OpenAI's
error shape, nothing it sent is stored (the database's keys, client secrets, leases and
spend records are read after each case), the server logs no traceback or error for any of
them, and it still serves a session afterwards."""

from __future__ import annotations

import io
import time
from pathlib import Path

import aiohttp
import pytest
import yarl

from rtcore_webrtc.ice import gather_on
from tests.keys import attack_corpus as corpus
from tests.keys.conftest import MASTER, admitted
from tests.keys.hostile_http import offer_sdp, openai_error, serve_with_store, stored, strict_json

SEED = 20261207


@pytest.fixture(autouse=True)
def _loopback_ice() -> None:
    gather_on("127.0.0.1")


async def _generate(http: aiohttp.ClientSession, port: int, **fields: object) -> str:
    async with http.post(
        f"http://127.0.0.1:{port}/key/generate",
        json=fields,
        headers={"Authorization": f"Bearer {MASTER}"},
    ) as answer:
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["key"])


async def test_every_case_is_refused_cleanly_and_stores_nothing(tmp_path: Path) -> None:
    cases = corpus.corpus(SEED, await offer_sdp())
    assert len(cases) >= 350
    served, db = serve_with_store(tmp_path)
    with served:
        async with aiohttp.ClientSession() as http:
            port = served.port
            target = await _generate(http, port, key_alias="target", max_budget=5)
            other = await _generate(http, port, key_alias="other")
            caller = await _generate(http, port, max_parallel_requests=1)
            async with http.post(
                f"http://127.0.0.1:{port}/v1/realtime/client_secrets",
                json={},
                headers={"Authorization": f"Bearer {MASTER}"},
            ) as answer:
                secret = (await answer.json())["value"]
            bearers = {
                corpus.MASTER: MASTER,
                corpus.VIRTUAL: target,
                corpus.CALLER: caller,
                corpus.SECRET: secret,
                corpus.WRONG: "sk-no-one-issued-this-key-0000",
                corpus.NOBODY: None,
            }
            stand_ins = {corpus.KEY: target, corpus.OTHER_KEY: other}

            def real(data: str) -> str:
                for stand_in, key in stand_ins.items():
                    data = data.replace(stand_in, key)
                return data

            failures: list[str] = []
            started = time.monotonic()
            before = stored(db)
            for case in cases:
                headers = {}
                if (bearer := bearers[case.bearer]) is not None:
                    headers["Authorization"] = f"Bearer {bearer}"
                if case.content_type is not None:
                    headers["Content-Type"] = case.content_type
                body = None if case.body is None else real(case.body.decode("latin-1"))
                logged = len(served.lines)
                url = yarl.URL(
                    f"http://127.0.0.1:{port}{case.path}{real(case.query)}", encoded=True
                )
                async with http.request(
                    case.method,
                    url,
                    data=None if body is None else io.BytesIO(body.encode("latin-1")),
                    headers=headers,
                    skip_auto_headers=["Content-Type"],
                ) as answer:
                    status, text = answer.status, await answer.text()
                try:
                    openai_error(status, text)
                except AssertionError as exc:
                    failures.append(f"{case.describe()}\n  -> {status} {text[:300]!r} ({exc})")
                now = stored(db)
                if now != before:
                    failures.append(f"{case.describe()}\n  -> stored something: {status}")
                    before = now
                for line in served.lines[logged:]:
                    if "Traceback" in line or " ERROR " in line:
                        failures.append(f"{case.describe()}\n  -> logged: {line.strip()}")
                        break
            elapsed = time.monotonic() - started
            assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(
                failures[:25]
            )
            # The target key is as it was made, and its info is JSON proper.
            async with http.get(
                f"http://127.0.0.1:{port}/key/info",
                params={"key": target},
                headers={"Authorization": f"Bearer {MASTER}"},
            ) as answer:
                info = strict_json(await answer.text())["info"]
            assert (info["key_alias"], info["max_budget"], info["blocked"]) == (
                "target",
                5.0,
                False,
            )
            # The caller's one parallel session was never held by a refused call.
            assert await admitted(port, caller)
        assert "Traceback" not in served.stderr
    # A modest part of the suite's time (generous for a loaded machine).
    assert elapsed < 120, elapsed
