"""Which Connect task contact stands for which of our documents, kept in the spoke store."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from omniroute.spokes.store import MemorySpokeStore, SpokeStore

PREFIX = "contact/"


@dataclass(frozen=True, slots=True)
class ContactLink:
    """A task or voice contact and the document and work item it stands for."""

    contact_id: str
    document_id: str
    work_item_id: str
    provider_queue_id: str | None = None
    accepted_by: str | None = None  # the Connect user whose accept of work_item_id we reported
    # A voice contact Connect routes itself (not a task we started): its caller's number.
    voice: bool = False
    customer_number: str | None = None
    # The Connect user our latest TransferContact named. The agent event stream lags the API,
    # so until our next transfer an alert of this contact to anyone else is an older one.
    transferred_to: str | None = None


def _link(value: Any) -> ContactLink | None:
    if not isinstance(value, dict):
        return None
    try:
        return ContactLink(**value)
    except TypeError:
        return None


class ContactMap:
    """Contacts by document and by contact id: in memory, written through to the spoke store."""

    def __init__(self, store: SpokeStore | None = None) -> None:
        self.store = store if store is not None else MemorySpokeStore()
        self._by_document: dict[str, ContactLink] = {}
        self._by_contact: dict[str, ContactLink] = {}

    async def load(self) -> None:
        """Read this spoke's links (keys `contact/<document>`) from the store."""
        for value in (await self.store.load_prefix(PREFIX)).values():
            link = _link(value)
            if link is not None:
                self._remember(link)

    def by_document(self, document_id: str) -> ContactLink | None:
        """The link of a document, if it has a contact."""
        return self._by_document.get(document_id)

    def by_contact(self, contact_id: str) -> ContactLink | None:
        """The link of a contact, if it is one of ours."""
        return self._by_contact.get(contact_id)

    async def put(self, link: ContactLink) -> None:
        """Store a link, replacing the document's previous one."""
        stale = self._by_contact.get(link.contact_id)
        if stale is not None and stale.document_id != link.document_id:
            # A contact id stands for one document: a stale link to another one goes.
            await self.store.remove(PREFIX + stale.document_id)
            self._by_document.pop(stale.document_id, None)
        await self.store.save(PREFIX + link.document_id, asdict(link))
        self._remember(link)

    def _remember(self, link: ContactLink) -> None:
        old = self._by_document.get(link.document_id)
        if old is not None:
            self._by_contact.pop(old.contact_id, None)
        self._by_document[link.document_id] = link
        self._by_contact[link.contact_id] = link
