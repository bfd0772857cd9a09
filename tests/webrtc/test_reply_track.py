"""The call's reply track: playback stops when the reply's audio has all played, not when
its queue runs dry while the model is still speaking (a real-time model's audio arrives
about as fast as it plays, so the queue empties between chunks)."""

from __future__ import annotations

from rtcore_webrtc.media import FRAME_BYTES, ReplyTrack


async def test_a_dry_queue_mid_reply_is_not_the_end_of_playback() -> None:
    stopped: list[str] = []
    track = ReplyTrack(stopped.append)
    track.play("resp_1", "item_1", bytes(2 * FRAME_BYTES))
    for _ in range(3):  # both frames out, then a silent one: the model is still talking
        await track.recv()
    assert stopped == []
    track.play("resp_1", "item_1", bytes(FRAME_BYTES))
    track.finish("resp_1")
    await track.recv()
    assert stopped == ["resp_1"]
    await track.recv()
    assert stopped == ["resp_1"]  # once


async def test_what_played_counts_across_the_gaps_of_one_item() -> None:
    track = ReplyTrack(lambda _: None)
    track.play("resp_1", "item_1", bytes(FRAME_BYTES))
    await track.recv()
    await track.recv()  # dry for 20 ms
    track.play("resp_1", "item_1", bytes(3 * FRAME_BYTES))
    await track.recv()
    cut = track.clear()
    assert cut is not None
    assert (cut.response_id, cut.item_id, cut.played_ms) == ("resp_1", "item_1", 40)
    assert track.clear() is None  # nothing playing any more
