"""The session machine's part in moving a session to another upstream (failover): the
capabilities and voice it adopts, the open responses failed or asked again, a committed
turn the old upstream never heard committed again, and the conversation as history for the
new one. Mixed into ``RealtimeSession``; the connection drives it (``rtcore.moves``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from rtcore.audio import OutputConverter
from rtcore.provider import Capabilities
from rtcore.provider import messages as n
from rtcore.session.call_ids import CallIds
from rtcore.session.conversation import Conversation, ConvItem
from rtcore.session.responses import ActiveResponse
from rtcore.session.settings import SessionState
from rtcore.session.transcripts import InputTranscripts

if TYPE_CHECKING:
    from rtcore.session.mcp_bridge import McpBridge
    from rtcore.session.remote_mcp import RemoteMcp


class SessionHandover:
    """Mixed into ``RealtimeSession``: the attributes below are the session's."""

    caps: Capabilities
    settings: SessionState
    conversation: Conversation
    responses: dict[str, ActiveResponse]
    _transcripts: InputTranscripts
    _call_ids: CallIds

    if TYPE_CHECKING:
        mcp: McpBridge
        remote_mcp: RemoteMcp

        def _rebuild_converters(self) -> None: ...

        def on_event(self, event: n.Event) -> Sequence[n.Command]: ...

        def _output_converter(self) -> OutputConverter: ...

        def _for_provider(self, item: ConvItem) -> n.Item: ...

    def adopt(self, caps: Capabilities, voice: str | None) -> None:
        """The session runs on an upstream with ``caps`` from now on (a failover): its
        voice is ``voice``, its audio crosses at that upstream's rates."""
        custom = self.settings.custom_voice and voice == self.settings.voice
        self.caps = caps
        self.settings = msgspec.structs.replace(self.settings, voice=voice, custom_voice=custom)
        self._rebuild_converters()

    def mcp_moved(self) -> None:
        """The session runs on its new upstream: its MCP servers go with it. From a vendor
        that ran them to one that does not, the gateway takes them over (connects and lists
        them anew: new ``mcp_list_tools`` items); to one that runs them, the gateway lets
        go of its connections and the new vendor is given the servers with the settings.
        What the old vendor was running or asking is moot: an answer to its approval
        requests is refused from now on."""
        self.remote_mcp.forget()
        self.mcp.configure(() if self.caps.remote_mcp else self.settings.mcp_servers)

    def resume_responses(self, error: n.ResponseError) -> list[n.Command]:
        """The upstream producing the open responses is gone. One the client has output
        of fails with ``error`` (the client hears one interrupted reply); one with nothing
        out yet is asked of the new upstream under its own id (the client sees one
        response). Returns those requests, to follow the history."""
        again: list[n.Command] = []
        for response in list(self.responses.values()):
            if response.items:
                done = n.ResponseDone(response_id=response.id, status="failed", error=error)
                self.on_event(done)
            else:
                response.reroute(self._output_converter())
                again.append(
                    n.CreateResponse(
                        response_id=response.id,
                        options=response.options,
                        conversation=response.conversation is not None,
                    )
                )
        return again

    def recommit(self, item_id: str) -> list[n.Command]:
        """The committed user turn ``item_id`` for a new upstream, when the one it went to
        never said a word of it (``history`` leaves it out): its commit and item, to follow
        its audio. Nothing when the turn was heard, or is gone."""
        item = self.conversation.get(item_id)
        if item is None or item_id not in self._transcripts:
            return []
        if self._transcripts.text_so_far(item_id):
            return []
        return [
            n.CommitAudio(item_id=item_id),
            n.AddItem(
                item=item.to_neutral(),
                previous_item_id=self.conversation.previous_of(item_id),
                source="audio",
            ),
        ]

    def history(self) -> list[n.AddItem]:
        """The conversation for a new upstream, as items a client adds. A user turn the
        model heard goes by its transcript (what there is of it so far); one with no words
        yet has nothing a new model could take, and is left out."""
        out: list[n.AddItem] = []
        previous: str | None = None
        for item in self.conversation:
            if item.type.startswith("mcp_"):
                for made in item.for_model():
                    made = self._call_ids.for_provider(made)
                    out.append(n.AddItem(item=made, previous_item_id=previous))
                    previous = made.id
                continue
            given = self._for_provider(item)
            if isinstance(given, n.Message) and not given.text:
                heard = self._transcripts.text_so_far(item.id)
                if not heard:
                    continue
                given = msgspec.structs.replace(given, text=heard)
            out.append(n.AddItem(item=given, previous_item_id=previous, source="client"))
            previous = item.id
        return out
