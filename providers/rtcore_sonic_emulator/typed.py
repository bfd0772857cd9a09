"""Nova Sonic v1 and typed text: text is context until the user says something short.

The real v1 model never answers text on its own, but it does answer a pending USER text
message when the user then makes a short sound ("okay?"): clients that offer typed turns
on v1 send the text as context followed by such a spoken prompt. The emulator follows the
same rule, deterministically:

- USER text sent since the last ASSISTANT text (input) or spoken user turn is *pending*.
- The next spoken turn takes it. If that turn is short (at most ``PROMPT_MAX_SECONDS`` of
  voiced audio) and not a tone code, it stands for "answer my text": its USER transcript
  is still what was heard, but the reply (script, tool call or default) answers the text.
  A tone code or longer speech is answered for itself, and the text stays context.

Nova 2 answers interactive text directly (see ``model.py``), so this applies to v1 only.
"""

from __future__ import annotations

PROMPT_MAX_SECONDS = 1.5


class PendingText:
    def __init__(self) -> None:
        self._texts: list[str] = []

    def on_text(self, role: str, text: str) -> None:
        if role == "ASSISTANT":
            self._texts.clear()
        elif role == "USER" and text.strip():
            self._texts.append(text)

    def take(self, slot: int | None, voiced_seconds: float) -> str | None:
        """The text a spoken turn answers instead of its own transcript, if any."""
        texts, self._texts = self._texts, []
        if not texts or slot is not None or voiced_seconds > PROMPT_MAX_SECONDS:
            return None
        return "\n".join(texts)
