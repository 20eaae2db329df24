"""Which Connect task contact stands for which of our documents, kept in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select

from omniroute.store import tables as t
from omniroute.store.db import Database


@dataclass(frozen=True, slots=True)
class ContactLink:
    """A task contact and the document and work item it stands for."""

    contact_id: str
    document_id: str
    work_item_id: str
    provider_queue_id: str | None = None


class ContactMap:
    """Contacts by document and by contact id; in memory, and in the store when one is given."""

    def __init__(self, spoke: str, db: Database | None = None) -> None:
        self.spoke = spoke
        self.db = db
        self._by_document: dict[str, ContactLink] = {}
        self._by_contact: dict[str, ContactLink] = {}

    async def load(self) -> None:
        """Read this spoke's links from the store."""
        if self.db is None:
            return
        async with self.db.session() as session:
            rows = await session.scalars(
                select(t.ConnectContactRow).where(t.ConnectContactRow.spoke == self.spoke)
            )
            for row in rows:
                link = ContactLink(
                    row.contact_id, row.document_id, row.work_item_id, row.provider_queue_id
                )
                self._remember(link)

    def by_document(self, document_id: str) -> ContactLink | None:
        """The link of a document, if it has a contact."""
        return self._by_document.get(document_id)

    def by_contact(self, contact_id: str) -> ContactLink | None:
        """The link of a contact, if it is one of ours."""
        return self._by_contact.get(contact_id)

    async def put(self, link: ContactLink) -> None:
        """Store a link, replacing the document's previous one."""
        if self.db is not None:
            now = datetime.now(UTC)
            table = t.ConnectContactRow
            async with self.db.session() as session, session.begin():
                row = await session.get(table, (self.spoke, link.document_id))
                # A contact id stands for one document: a stale link to another one goes.
                await session.execute(
                    delete(table).where(
                        table.spoke == self.spoke,
                        table.contact_id == link.contact_id,
                        table.document_id != link.document_id,
                    )
                )
                if row is None:
                    row = table(spoke=self.spoke, document_id=link.document_id, created_at=now)
                    session.add(row)
                row.contact_id = link.contact_id
                row.work_item_id = link.work_item_id
                row.provider_queue_id = link.provider_queue_id
                row.updated_at = now
        self._remember(link)

    def _remember(self, link: ContactLink) -> None:
        old = self._by_document.get(link.document_id)
        if old is not None:
            self._by_contact.pop(old.contact_id, None)
        self._by_document[link.document_id] = link
        self._by_contact[link.contact_id] = link
