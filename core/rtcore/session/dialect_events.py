"""Which event classes a dialect uses where the two differ."""

from __future__ import annotations

from dataclasses import dataclass

from rtcore.dialect import Dialect
from rtcore.protocol import server as s


@dataclass(frozen=True, slots=True)
class Vocabulary:
    dialect: Dialect
    text_delta: type[s.OutputTextDelta]
    text_done: type[s.OutputTextDone]
    audio_delta: type[s.OutputAudioDelta]
    audio_done: type[s.OutputAudioDone]
    transcript_delta: type[s.OutputAudioTranscriptDelta]
    transcript_done: type[s.OutputAudioTranscriptDone]


GA = Vocabulary(
    Dialect.GA,
    s.OutputTextDelta,
    s.OutputTextDone,
    s.OutputAudioDelta,
    s.OutputAudioDone,
    s.OutputAudioTranscriptDelta,
    s.OutputAudioTranscriptDone,
)
BETA = Vocabulary(
    Dialect.BETA,
    s.BetaTextDelta,
    s.BetaTextDone,
    s.BetaAudioDelta,
    s.BetaAudioDone,
    s.BetaAudioTranscriptDelta,
    s.BetaAudioTranscriptDone,
)


def vocabulary(dialect: Dialect) -> Vocabulary:
    return GA if dialect is Dialect.GA else BETA
