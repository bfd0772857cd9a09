"""The spool and the idempotent record over a real SQLite file: a record written twice (or
by two processes taking the same spooled entry) counts once, an entry one process holds is
not taken by another, an unreadable one is set aside."""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path

import pytest

from rtcore.keys.spool import Spool, SpoolEntry
from rtcore.keys.store import KeyStore
from rtcore.keys.usage import SessionRecord
from rtcore.provider.messages import Usage


def record(request_id: str, token: str | None, spend: float) -> SessionRecord:
    now = datetime.datetime.now(datetime.UTC)
    return SessionRecord(
        request_id=request_id,
        key_hash=token,
        key_alias=None,
        model="echo-1",
        model_group="echo",
        deployment="echo",
        start_time=now - datetime.timedelta(seconds=3),
        end_time=now,
        end_reason="client_closed",
        audio_seconds_in=1.5,
        audio_seconds_out=2.5,
        usage=Usage(input_text_tokens=10, output_text_tokens=20),
        spend=spend,
    )


async def test_a_record_written_twice_counts_once(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    store = await KeyStore.open(f"sqlite:///{tmp_path / 'keys.db'}", spool_dir=spool)
    try:
        made = await store.generate({"max_parallel_requests": 1})
        admission = await store.admit(made["key"], "echo")
        ended = record("sess_twice", made["token"], 0.25)
        await store.finish(admission, ended)
        await store.finish(admission, ended)
        rows = await store.spend_logs({"api_key": made["key"]})
        assert [r["request_id"] for r in rows] == ["sess_twice"]
        assert rows[0]["metadata"]["audio_seconds_out"] == 2.5
        assert (await store.info(made["key"]))["info"]["spend"] == pytest.approx(0.25)
        # The lease went with the record: the key's one session may open again.
        await store.admit(made["key"], "echo")
        assert not list(spool.iterdir())
    finally:
        await store.aclose()


async def test_two_processes_flushing_one_spool_write_each_record_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    spool_dir = tmp_path / "spool"
    first = await KeyStore.open(url, spool_dir=spool_dir)
    second = await KeyStore.open(url, spool_dir=spool_dir)
    try:
        made = await first.generate({})
        # Left behind by an outage: entries nobody holds.
        spool = Spool(spool_dir)
        costs = [0.01 * (i + 1) for i in range(12)]
        for i, cost in enumerate(costs):
            spool.put(SpoolEntry(record=record(f"sess_{i}", made["token"], cost))).release()
        written = await asyncio.gather(first.flush(), second.flush(), first.flush())
        assert sum(written) >= len(costs)
        rows = await second.spend_logs({"api_key": made["key"]})
        assert sorted(r["request_id"] for r in rows) == sorted(f"sess_{i}" for i in range(12))
        info = await second.info(made["key"])
        assert info["info"]["spend"] == pytest.approx(sum(costs))
        assert not list(spool_dir.glob("*.json"))
    finally:
        await first.aclose()
        await second.aclose()


def test_an_entry_held_is_not_taken_until_released(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.check()
    held = spool.put(SpoolEntry(record=record("sess_held", None, 0.0), lease_id="lease-1"))
    # Another open of the file (another process, or this one) cannot lock it.
    assert list(Spool(tmp_path).take()) == []
    assert spool.waiting()
    held.release()
    [taken] = list(Spool(tmp_path).take())
    assert taken.entry.record.request_id == "sess_held"
    assert taken.entry.lease_id == "lease-1"
    assert taken.entry.record.usage.output_text_tokens == 20
    taken.done()
    assert not spool.waiting()


def test_an_unreadable_entry_is_set_aside(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "sess_torn.json").write_bytes(b'{"record": {"request_')
    with caplog.at_level(logging.ERROR):
        assert list(Spool(tmp_path).take()) == []
    assert (tmp_path / "sess_torn.bad").exists()
    assert "unreadable" in caplog.text


def test_a_request_id_with_odd_characters_gets_a_safe_file_name(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    held = spool.put(SpoolEntry(record=record("../../etc/x y", None, 0.0)))
    assert held.path.parent == tmp_path
    held.done()
    assert not list(tmp_path.iterdir())


async def test_an_entry_a_process_holds_while_writing_is_left_to_it(tmp_path: Path) -> None:
    """The write-ahead entry of a session being recorded right now (held) is not taken by
    a flush of another store sharing the spool."""
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    store = await KeyStore.open(url, spool_dir=tmp_path / "spool")
    try:
        held = Spool(tmp_path / "spool").put(SpoolEntry(record=record("sess_inflight", None, 1.0)))
        assert await store.flush() == 0
        held.release()
        assert await store.flush() == 1
        [row] = await store.spend_logs({"request_id": "sess_inflight"})
        assert row["api_key"] == "master"
    finally:
        await store.aclose()
