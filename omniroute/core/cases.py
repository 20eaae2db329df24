"""Cases filed from the public form: created once per form token."""

from __future__ import annotations

from omniroute.core import documents
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.rows import IdempotencyKeyRecord
from omniroute.core.state import Tx
from omniroute.domain.model import Document, DocumentType

CASE_CHANNEL = "case"


def file_case(
    tx: Tx, fields: dict[str, str], queue_id: str, idempotency_key: str, request_hash: str
) -> Document:
    """Create and route the case, recording the key so that a re-send files nothing."""
    doc, _ = documents.create_document(
        tx, NewDocument(DocumentType.CASE, CASE_CHANNEL, dict(fields), RouteRequest(queue_id))
    )
    tx.insert(IdempotencyKeyRecord(idempotency_key, request_hash, doc.id, tx.now))
    return doc
