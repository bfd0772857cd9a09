"""What a ``response.create`` sends Nova (Nova's policy for requested replies)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rtcore.kit import as_text, frames, owed
from rtcore.provider import messages as n
from rtcore_bedrock_sonic.context import Live, SessionContext
from rtcore_bedrock_sonic.link import is_user_text
from rtcore_bedrock_sonic.spoken_nudge import trigger_pcm


async def request_reply(s: SessionContext, create: n.CreateResponse) -> None:
    """What a ``response.create`` sends Nova: the tool results it waits for, else the
    client's new text as a turn (v1: as context, then the spoken nudge), or, after a
    push-to-talk commit, nothing that would make Nova answer twice."""
    # A result for a call a stream that is gone made means nothing to the live stream (a
    # toolUseId is a stream's own): it goes in as the user's text, as history renders it.
    turn = owed(s.mirror)
    if len(turn) < len(s.mirror.unsent()) and s.supervisor.handle is not None:
        # Items no stream has had that came before the model's last word (a conversation
        # the client gave whole): Nova takes them only as history, so a fresh stream
        # carries them.
        s.supervisor.restart()
    texts = [i for i in turn if is_user_text(i) or _orphaned(s, i)]
    grew = bool(s.held_results or texts)
    if (answer := s.hold.answer_for(create.response_id, conversation_grew=grew)) is not None:
        # Nova already answered the turn this asks about: that answer is the reply.
        s.commit_unanswered = False
        await s.emit(answer)
        return
    await s.emit(s.inbound.request(create, s.config.output_modalities))
    s.supervisor.last_event = time.monotonic()  # a reply is owed from now
    s.supervisor.wake()
    results, s.held_results = s.held_results, []
    live = [r for r in results if r.call_id in s.tool_ids]
    for result in live:
        s.inbound.open_tool_calls.pop(result.call_id, None)
        s.mirror.mark_sent([result.id])
        await s.supervisor.send(_tool_result(result))
    if live:
        return  # the tool result resumes Nova's own turn: no nudge needed
    instructions = create.options.instructions
    if s.commit_unanswered:
        # Push-to-talk: Nova answers the committed speech itself (the commit's pause
        # ends its turn); new text only joins it as context, and nothing nudges.
        s.commit_unanswered = False
        if text := _turn_text(texts, instructions):
            await _send_text(s, texts, text, interactive=False)
        return
    s.inbound.suppress_next_user_turn = True
    text = _turn_text(texts, instructions)
    if s.up.profile.interactive_text:
        await _send_text(s, texts, text or "Please go on.", interactive=True)
        return
    # v1 answers only speech: the text goes in as context, then the spoken nudge.
    opts = s.up.options
    nudge = trigger_pcm(s.config.input_sample_rate, wav_path=opts.text_trigger_wav)
    await _send_text(s, texts, text, interactive=False, then=nudge)


async def _send_text(
    s: SessionContext, items: list[n.Item], text: str, *, interactive: bool, then: bytes = b""
) -> None:
    """A USER text block (and audio after it, in the same hold). The items count as
    sent once it is on a stream: a stream opening before then gets them here, not as
    history too."""
    ids, size = [i.id for i in items], s.frame_bytes()

    def build(live: Live) -> list[bytes]:
        s.mirror.mark_sent(ids)
        out = live.writer.text_block("USER", text, interactive=interactive) if text else []
        return out + [live.writer.audio_chunk(f) for f in frames(then, size)] if then else out

    await s.supervisor.send(build)


def _tool_result(result: n.FunctionCallOutput) -> Callable[[Live], list[bytes]]:
    return lambda live: live.writer.tool_result(result.call_id, result.output)


def _orphaned(s: SessionContext, item: n.Item) -> bool:
    return isinstance(item, n.FunctionCallOutput) and item.call_id not in s.tool_ids


def _turn_text(items: list[n.Item], instructions: str | None) -> str:
    text = "\n".join(t.text for i in items if (t := as_text(i)) is not None)
    if instructions:
        text = f"{text}\n\n(Instructions for this reply: {instructions})"
    return text.strip()
