"""The user-audio bookkeeping measured per batch: noting audio now and measuring its speech
later gives what measuring each chunk as it came gives."""

from __future__ import annotations

from rtcore.kit.audio.input_audio import InputAudio
from rtcore_sonic_emulator import utterance_pcm

_CHUNK = 640


def _chunks(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + _CHUNK] for i in range(0, len(pcm), _CHUNK)]


def test_noted_audio_measures_as_observed_audio() -> None:
    chunks = _chunks(utterance_pcm(0, trail_silence=0.3) + utterance_pcm(1, trail_silence=0.5))
    observed, noted = InputAudio(16000), InputAudio(16000)
    began_observed = sum(observed.observe(pcm) for pcm in chunks)
    began_noted = 0
    for index, pcm in enumerate(chunks):
        noted.note(pcm)
        if index % 3 == 2:
            began_noted += noted.settle()
    began_noted += noted.settle()
    assert began_observed == began_noted == 2
    assert noted.onset_ms == observed.onset_ms > 0
    assert noted.last_voiced_ms == observed.last_voiced_ms
    assert noted.position_ms == observed.position_ms
    assert noted.unanswered()
    assert observed.unanswered()


def test_questions_measure_what_waits() -> None:
    audio = InputAudio(16000)
    for pcm in _chunks(utterance_pcm(0, trail_silence=0.0)):
        audio.note(pcm)
    # Nothing measured yet: a per-chunk decision sees no speech ...
    assert not audio.measured_unanswered
    # ... a question measures it first.
    assert audio.last_voiced_ms > 0
    assert audio.measured_unanswered
    assert audio.settle()  # the utterance that began is still reported once
    assert not audio.settle()


def test_acknowledging_covers_speech_noted_before_it() -> None:
    audio = InputAudio(16000)
    for pcm in _chunks(utterance_pcm(0, trail_silence=0.0)):
        audio.note(pcm)
    audio.acknowledge()
    assert not audio.unanswered()
    assert audio.unanswered_audio(until_ms=audio.position_ms) == []


def test_quiet_is_counted_from_the_end_of_the_last_voiced_frame() -> None:
    audio = InputAudio(16000)
    speech = _chunks(utterance_pcm(0, trail_silence=0.0))
    for pcm in speech:
        audio.observe(pcm)
    assert audio.measured_quiet_ms == 0
    audio.observe(bytes(_CHUNK))
    assert audio.measured_quiet_ms == 20
    audio.note(bytes(_CHUNK))  # not measured: not counted
    assert audio.measured_quiet_ms == 20


def _ms(chunks: list[bytes]) -> float:
    return sum(len(c) for c in chunks) / 32.0


def test_quiet_between_turns_keeps_a_second_not_the_whole_window() -> None:
    trimmed, whole = InputAudio(16000), InputAudio(16000, trim=False)
    for pcm in _chunks(bytes(_CHUNK * 500)):  # 10 s of silence
        trimmed.observe(pcm)
        whole.observe(pcm)
    assert 1000 <= _ms(trimmed.recent(until_ms=trimmed.position_ms, within_ms=10_000)) <= 1020
    assert _ms(whole.recent(until_ms=whole.position_ms, within_ms=10_000)) >= 9980


def test_unanswered_speech_is_kept_whole_until_acknowledged() -> None:
    audio = InputAudio(16000)
    speech = utterance_pcm(0, trail_silence=0.0)
    for pcm in _chunks(bytes(_CHUNK * 100) + speech + bytes(_CHUNK * 300)):  # 6 s quiet after
        audio.observe(pcm)
    replay = b"".join(audio.unanswered_audio(until_ms=audio.position_ms))
    # From 300 ms before the speech began to now: all of it, though it began 6.6 s ago.
    assert audio.position_ms - audio.onset_ms > 6000
    assert len(replay) == (audio.position_ms - audio.onset_ms + 300) * 32
    audio.acknowledge()
    audio.observe(bytes(_CHUNK))
    assert _ms(audio.recent(until_ms=audio.position_ms, within_ms=10_000)) <= 1020


def test_a_long_utterance_is_kept_from_its_onset_while_it_goes_on() -> None:
    audio = InputAudio(16000)
    audio.acknowledge()
    speech = b"".join(utterance_pcm(i, trail_silence=0.1) for i in range(4))
    for pcm in _chunks(bytes(_CHUNK * 100) + speech):
        audio.observe(pcm)
        audio.acknowledge()  # heard as it goes: only the utterance rule keeps it
    kept = audio.recent(until_ms=audio.position_ms, within_ms=30_000)
    onset_to_now = audio.position_ms - audio.onset_ms
    assert _ms(kept) >= onset_to_now + 300
    assert onset_to_now > 3000  # longer than a recovery's 3 s: the onset rule kept it


def test_replay_of_a_broken_stream_taking_a_turn_is_its_last_seconds() -> None:
    audio = InputAudio(16000)
    for pcm in _chunks(bytes(_CHUNK * 150) + utterance_pcm(0, trail_silence=0.0) * 5):
        audio.observe(pcm)
    audio.acknowledge()  # heard: nothing unanswered
    unsent = _CHUNK * 3  # batched, not taken by the stream
    assert (
        audio.replay(unsent_bytes=unsent, recovering=False, turn_open=True, answering=False) == []
    )
    again = audio.replay(unsent_bytes=unsent, recovering=True, turn_open=True, answering=False)
    assert _ms(again) == 3000
    assert audio.replay(unsent_bytes=unsent, recovering=True, turn_open=False, answering=True) == []


def test_once_the_model_answers_the_utterance_is_no_longer_kept() -> None:
    audio = InputAudio(16000)
    for pcm in _chunks(bytes(_CHUNK * 100) + utterance_pcm(0, trail_silence=0.6)):
        audio.observe(pcm)
    audio.acknowledge()
    kept = _ms(audio.recent(until_ms=audio.position_ms, within_ms=30_000))
    assert kept > 1500  # the utterance, within 3 s of its last voiced frame
    audio.answered()  # the model began its reply
    audio.observe(bytes(_CHUNK))
    assert _ms(audio.recent(until_ms=audio.position_ms, within_ms=30_000)) <= 1020
    # Speech over the reply is kept again, from just before it began.
    for pcm in _chunks(utterance_pcm(1, trail_silence=0.0)):
        audio.observe(pcm)
    assert _ms(audio.recent(until_ms=audio.position_ms, within_ms=30_000)) > 1000
