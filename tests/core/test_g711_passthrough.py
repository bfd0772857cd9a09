"""The core's side of G.711 passed through: what the provider is told, what is metered, and
the speech measure of audio that crosses as G.711."""

from __future__ import annotations

import numpy as np
import pytest

from rtcore.audio import G711_ALAW, G711_ULAW, PCM16_24K, AudioFormat
from rtcore.audio.g711 import alaw_encode, ulaw_encode
from rtcore.keys.usage import Meter
from rtcore.kit.audio.input_audio import InputAudio
from rtcore.provider import Capabilities, Prices
from rtcore.session.settings import SessionState, to_neutral
from rtcore_sonic_emulator import utterance_pcm

TAKES_G711 = Capabilities(
    input_sample_rates=(24000,),
    output_sample_rates=(24000,),
    passthrough_encodings=frozenset({"g711_ulaw", "g711_alaw"}),
)
PCM_ONLY = Capabilities(input_sample_rates=(16000,), output_sample_rates=(24000,))


def _state(input_format: AudioFormat, output_format: AudioFormat) -> SessionState:
    return SessionState(
        id="sess_1", model="m", input_format=input_format, output_format=output_format
    )


def test_a_provider_that_takes_g711_is_given_the_clients() -> None:
    config = to_neutral(_state(G711_ULAW, G711_ALAW), TAKES_G711)
    assert (config.input_encoding, config.input_sample_rate) == ("g711_ulaw", 8000)
    assert (config.output_encoding, config.output_sample_rate) == ("g711_alaw", 8000)


def test_one_that_does_not_is_given_pcm16_at_its_rates() -> None:
    config = to_neutral(_state(G711_ULAW, G711_ULAW), PCM_ONLY)
    assert (config.input_encoding, config.input_sample_rate) == ("pcm16", 16000)
    assert (config.output_encoding, config.output_sample_rate) == ("pcm16", 24000)


def test_pcm16_clients_and_webrtc_media_stay_pcm16() -> None:
    pcm = to_neutral(_state(PCM16_24K, PCM16_24K), TAKES_G711)
    assert (pcm.input_encoding, pcm.output_encoding) == ("pcm16", "pcm16")
    # A WebRTC call's audio is PCM16 out of band, whatever formats the client names.
    media = to_neutral(_state(G711_ULAW, G711_ULAW), TAKES_G711, media=True)
    assert (media.input_encoding, media.input_sample_rate) == ("pcm16", 24000)
    assert (media.output_encoding, media.output_sample_rate) == ("pcm16", 24000)


def test_the_meter_counts_a_byte_a_sample_of_g711() -> None:
    meter = Meter(Prices(input_audio_second=1.0, output_audio_second=2.0))
    meter.crossing(to_neutral(_state(G711_ULAW, G711_ULAW), TAKES_G711))
    meter.audio_in(8000 * 30)  # 30 s of µ-law
    meter.audio_out(8000 * 10)
    meter.crossing(to_neutral(_state(PCM16_24K, PCM16_24K), TAKES_G711))
    meter.audio_in(24000 * 2 * 5)  # and 5 s of PCM16 after a session.update
    assert meter.seconds_in == pytest.approx(35.0)
    assert meter.seconds_out == pytest.approx(10.0)
    assert meter.spend == pytest.approx(35.0 + 20.0)


@pytest.mark.parametrize("encode", [ulaw_encode, alaw_encode])
def test_g711_is_measured_as_its_pcm16_would_be(encode: object) -> None:
    pcm = utterance_pcm(0, sample_rate=8000, trail_silence=0.5)
    pcm += utterance_pcm(1, sample_rate=8000, trail_silence=0.5)
    g711 = encode(np.frombuffer(pcm, dtype="<i2"))  # type: ignore[operator]
    encoding = "g711_ulaw" if encode is ulaw_encode else "g711_alaw"
    as_pcm, as_g711 = InputAudio(8000), InputAudio(8000, encoding=encoding)
    step = 160  # 20 ms of G.711
    began_pcm = sum(as_pcm.observe(pcm[i : i + 2 * step]) for i in range(0, len(pcm), 2 * step))
    began_g711 = sum(as_g711.observe(g711[i : i + step]) for i in range(0, len(g711), step))
    assert began_pcm == began_g711 == 2
    assert as_g711.position_ms == as_pcm.position_ms == len(g711) / 8
    assert as_g711.onset_ms == as_pcm.onset_ms > 0
    assert as_g711.last_voiced_ms == as_pcm.last_voiced_ms
    # The ring gives back the G.711 bytes, cut on the same timeline.
    until = as_g711.position_ms
    assert b"".join(as_g711.recent(until_ms=until, within_ms=1000)) == g711[-8000:]
