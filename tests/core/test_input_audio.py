"""The user-audio bookkeeping measured per batch: noting audio now and measuring its speech
later gives what measuring each chunk as it came gives."""

from __future__ import annotations

from rtcore.kit.input_audio import InputAudio
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
