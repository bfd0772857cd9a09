"""Nova's usage events summed into the usage of the response they belong to.

Nova reports usage as deltas, or as running totals of the stream; a total counts what was
added since the one before it.
"""

from __future__ import annotations

from rtcore.provider.messages import Usage
from rtcore_bedrock_sonic import events as ev


class UsageMeter:
    __slots__ = ("_totals", "in_audio", "in_text", "out_audio", "out_text")

    def __init__(self) -> None:
        self.in_text = self.in_audio = self.out_text = self.out_audio = 0
        self._totals: tuple[int, int, int, int] | None = None

    def add(self, u: ev.UsageEvent) -> None:
        d = u.details.delta
        if d is not None:
            self.in_audio += d.input.speech_tokens
            self.in_text += d.input.text_tokens
            self.out_audio += d.output.speech_tokens
            self.out_text += d.output.text_tokens
        elif (t := u.details.total) is not None:
            now = (
                t.input.speech_tokens,
                t.input.text_tokens,
                t.output.speech_tokens,
                t.output.text_tokens,
            )
            before = self._totals or (0, 0, 0, 0)
            self.in_audio += max(0, now[0] - before[0])
            self.in_text += max(0, now[1] - before[1])
            self.out_audio += max(0, now[2] - before[2])
            self.out_text += max(0, now[3] - before[3])
            self._totals = now

    def take(self) -> Usage:
        """The usage summed so far, for the response that ends; the next starts at zero
        (the stream's running totals go on)."""
        usage = Usage(
            input_text_tokens=self.in_text,
            input_audio_tokens=self.in_audio,
            output_text_tokens=self.out_text,
            output_audio_tokens=self.out_audio,
        )
        self.in_text = self.in_audio = self.out_text = self.out_audio = 0
        return usage
