"""The provider kit: what every provider session needs, so that a provider is wiring plus
its model's own policy.

- ``EventOutbox``: the session's outgoing events, with end and error semantics.
- ``ResponseLedger``: responses by id, exactly one ``ResponseDone`` for each.
- ``ConversationMirror``: the core's conversation as the provider was told of it.
- ``new_item_id`` / ``new_response_id``: ids for what a provider starts itself.
"""

from rtcore.kit.ids import new_item_id, new_response_id
from rtcore.kit.ledger import LedgerResponse, ResponseLedger
from rtcore.kit.mirror import ConversationMirror, MirroredItem
from rtcore.kit.outbox import EventOutbox

__all__ = [
    "ConversationMirror",
    "EventOutbox",
    "LedgerResponse",
    "MirroredItem",
    "ResponseLedger",
    "new_item_id",
    "new_response_id",
]
