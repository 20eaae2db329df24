"""Events a provider sends to Omniroute, as a spoke parsed and verified them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from omniroute.domain.bounds import check_instant, check_timeout
from omniroute.domain.calls import CallContext
from omniroute.domain.errors import ErrorCode
from omniroute.domain.model import DisplayOption
from omniroute.domain.outbound import TransferType


class InboundEventType(StrEnum):
    """Events a provider sends to Omniroute."""

    AGENT_SIGNED_IN = "agent_signed_in"
    AGENT_PRESENCE = "agent_presence"
    WORK_OFFERED = "work_offered"
    WORK_RESCINDED = "work_rescinded"
    CALL_CONTEXT = "call_context"


@dataclass(frozen=True, slots=True)
class InboundTransfer:
    """A transfer the provider made, carried on its offer: whose work, from which queue."""

    type: TransferType = TransferType.BLIND
    from_provider_agent_id: str | None = None
    source_provider_queue_id: str | None = None


@dataclass(frozen=True, slots=True)
class InboundOffer:
    """A routing decision carried by a provider's callback, on the Work Offer API's terms."""

    external_segment_id: str
    document_id: str | None = None
    work_item_id: str | None = None
    provider_queue_id: str | None = None
    allowed_to_decline: bool = True
    auto_accept: bool = False
    timeout_s: float | None = None
    display_option: DisplayOption = DisplayOption.CARD_ONLY
    transfer: InboundTransfer | None = None

    def __post_init__(self) -> None:
        check_timeout(self.timeout_s)


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One verified event from a provider."""

    id: str
    type: InboundEventType
    provider_agent_id: str
    email: str | None = None
    name: str | None = None
    state_name: str | None = None
    occurred_at: datetime | None = None
    offer: InboundOffer | None = None
    call: CallContext | None = None

    def __post_init__(self) -> None:
        if self.occurred_at is not None:
            code = ErrorCode.VALIDATION_ERROR
            if self.type is InboundEventType.WORK_OFFERED:
                code = ErrorCode.INVALID_OFFERED_AT
            check_instant(self.occurred_at, code, "occurred_at")
