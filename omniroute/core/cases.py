"""Cases filed from the public form: created once per form token."""

from __future__ import annotations

from typing import Any

from omniroute.core import documents
from omniroute.core.documents import NewDocument, RouteRequest
from omniroute.core.rows import IdempotencyKeyRecord
from omniroute.core.state import Tx
from omniroute.domain.errors import DomainError, ErrorCode, NotFoundError
from omniroute.domain.events import DocumentChanged
from omniroute.domain.model import CasePriority, CaseStatus, Document, DocumentType

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


def update_case(
    tx: Tx, case_id: str, agent_id: str | None, status: str | None, priority: str | None
) -> Document:
    """Change a case's status or priority; the agent holding it is told."""
    doc = documents.active_document(tx, case_id)
    if doc.type is not DocumentType.CASE:
        raise NotFoundError("case", case_id, "case_id")
    if agent_id is not None and doc.agent_id != agent_id:
        raise DomainError(ErrorCode.FORBIDDEN, f"case '{case_id}' is not assigned to you")
    fields: dict[str, Any] = {}
    for name, value, allowed in (
        ("status", status, CaseStatus),
        ("priority", priority, CasePriority),
    ):
        if value is None:
            continue
        if value not in {s.value for s in allowed}:
            choices = ", ".join(s.value for s in allowed)
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"{name} must be one of {choices}", name)
        fields[name] = value
    if not fields:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "give a status or a priority", "status")
    tx.save_document(doc, **fields)
    if doc.agent_id is not None:
        tx.emit(doc.agent_id, DocumentChanged(doc.type.value, doc.id, doc.state, None))
    return doc
