"""Which Genesys conversation stands for which of our documents, kept in the spoke store."""

from __future__ import annotations

from omniroute.spokes.store import SpokeStore

PREFIX = "conversation/"


class ConversationLinks:
    """Document id -> Genesys conversation id for one spoke, under `conversation/<document>`."""

    def __init__(self, store: SpokeStore) -> None:
        self.store = store

    async def get(self, document_id: str) -> str | None:
        """The conversation of a document, if one was made."""
        value = await self.store.load(PREFIX + document_id)
        found = value.get("conversation_id") if isinstance(value, dict) else None
        return found if isinstance(found, str) else None

    async def put(self, document_id: str, conversation_id: str) -> None:
        """Remember the conversation of a document; a repeat updates it."""
        await self.store.save(PREFIX + document_id, {"conversation_id": conversation_id})
