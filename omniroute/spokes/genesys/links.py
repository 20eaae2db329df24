"""Which Genesys conversation stands for which of our documents, kept across restarts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from omniroute.store import tables as t
from omniroute.store.db import Database


class ConversationLinks(Protocol):
    """Document id <-> Genesys conversation id for one spoke."""

    async def get(self, document_id: str) -> str | None:
        """The conversation of a document, if one was made."""

    async def put(self, document_id: str, conversation_id: str) -> None:
        """Remember the conversation of a document (again is harmless)."""

    async def close(self) -> None:
        """Release what the links hold."""


class MemoryLinks:
    """Links for one process only: for tests and tools."""

    def __init__(self) -> None:
        self.known: dict[str, str] = {}

    async def get(self, document_id: str) -> str | None:
        """The conversation of a document, if one was made."""
        return self.known.get(document_id)

    async def put(self, document_id: str, conversation_id: str) -> None:
        """Remember the conversation of a document."""
        self.known[document_id] = conversation_id

    async def close(self) -> None:
        """Nothing to release."""


class StoredLinks:
    """Links in the `genesys_conversations` table, shared by every Omniroute process."""

    def __init__(self, database_url: str, spoke: str) -> None:
        self.db = Database(database_url)
        self.spoke = spoke

    async def get(self, document_id: str) -> str | None:
        """The conversation of a document, if one was made."""
        async with self.db.session() as session:
            row = await session.get(t.GenesysConversationRow, (self.spoke, document_id))
            return row.conversation_id if row is not None else None

    async def put(self, document_id: str, conversation_id: str) -> None:
        """Remember the conversation of a document; a repeat updates it."""
        async with self.db.session() as session, session.begin():
            await session.merge(
                t.GenesysConversationRow(
                    spoke=self.spoke,
                    document_id=document_id,
                    conversation_id=conversation_id,
                    created_at=datetime.now(UTC),
                )
            )

    async def close(self) -> None:
        """Close the pooled connections."""
        await self.db.dispose()
