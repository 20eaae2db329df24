"""Which Genesys conversation stands for which of our documents, kept in the spoke store."""

from __future__ import annotations

from dataclasses import dataclass

from omniroute.spokes.store import SpokeStore

PREFIX = "conversation/"
MEDIA = ("messages", "calls", "callbacks")


@dataclass(frozen=True, slots=True)
class Link:
    """A document's Genesys conversation and the media path its API lives under."""

    conversation_id: str
    media: str = "messages"


class ConversationLinks:
    """Document id -> Genesys conversation for one spoke, under `conversation/<document>`."""

    def __init__(self, store: SpokeStore) -> None:
        self.store = store

    async def link(self, document_id: str) -> Link | None:
        """The conversation of a document, if one is known."""
        value = await self.store.load(PREFIX + document_id)
        if not isinstance(value, dict) or not isinstance(value.get("conversation_id"), str):
            return None
        media = value.get("media")
        return Link(value["conversation_id"], media if media in MEDIA else "messages")

    async def get(self, document_id: str) -> str | None:
        """The conversation id of a document, if one is known."""
        found = await self.link(document_id)
        return found.conversation_id if found is not None else None

    async def put(self, document_id: str, conversation_id: str, media: str = "messages") -> None:
        """Remember the conversation of a document; a repeat updates it."""
        value = {"conversation_id": conversation_id, "media": media}
        await self.store.save(PREFIX + document_id, value)
