"""The event models match what the services send, and the published JSON Schema matches them."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from omniroute.domain.model import (
    CLOSED_CASE_STATES,
    CLOSED_INTERACTION_STATES,
    DocumentType,
    OfferState,
)
from omniroute.domain.outbound import SCHEMA_VERSION, RoutingEventType, TransferType
from omniroute.spokes import events_schema as es
from omniroute.spokes.base import InboundEventType
from omniroute.spokes.webhook.spoke import envelope
from tests.spokes.payloads import closed_case_event, routing_events

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "docs" / "spokes" / "schema" / f"v{SCHEMA_VERSION}"
OUTGOING_FIXTURES = ROOT / "tests" / "fixtures" / "webhook" / "outgoing"


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def shape(value: Any) -> Any:
    """The key tree of a JSON value: what must match, whatever the values are."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return None


def literal_values(alias: Any) -> set[str]:
    return set(typing.get_args(alias))


def test_committed_schema_files_are_what_the_models_generate() -> None:
    assert es.differences(SCHEMA_DIR) == [], "run: python -m omniroute.spokes.events_schema --write"
    assert es.main(["--check", str(SCHEMA_DIR)]) == 0


def test_write_replaces_stale_files_and_check_reports_them(tmp_path: Path) -> None:
    (tmp_path / "gone_event.json").write_text("{}")
    assert es.main(["--check", str(tmp_path)]) == 1
    es.main(["--write", str(tmp_path)])
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == sorted(es.json_schemas())
    assert es.differences(tmp_path) == []


def test_every_event_type_has_a_model_and_a_schema() -> None:
    schemas = es.json_schemas()
    assert set(es.OUTGOING) == set(RoutingEventType)
    assert set(es.INBOUND) == set(InboundEventType)
    for event_type in RoutingEventType:
        schema = schemas[event_type.value]
        assert schema["properties"]["type"]["const"] == event_type.value
        assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    for inbound_type in InboundEventType:
        assert schemas[f"inbound_{inbound_type.value}"]["properties"]["type"]["const"] == (
            inbound_type.value
        )


def test_enumerations_follow_the_domain() -> None:
    closed = {s.value for s in CLOSED_INTERACTION_STATES | CLOSED_CASE_STATES}
    assert literal_values(es.ClosedState) == closed
    assert literal_values(es.OfferOutcomeName) == {s.value for s in OfferState} - {"pending"}
    assert literal_values(es.TransferTypeName) == {t.value for t in TransferType}
    assert literal_values(es.DocumentTypeName) == {t.value for t in DocumentType}


def test_real_payloads_from_the_services_validate_with_no_unknown_field() -> None:
    events = routing_events()
    assert set(events) == set(RoutingEventType)
    for event_type, event in [
        *events.items(),
        (RoutingEventType.END_INTERACTION, closed_case_event()),
    ]:
        parsed = es.OUTGOING_EVENT.validate_python(envelope(event), extra="forbid")
        assert type(parsed) is es.OUTGOING[event_type]


@pytest.mark.parametrize("path", sorted(OUTGOING_FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_recorded_envelopes_validate_and_have_the_shape_the_services_send(path: Path) -> None:
    recorded = load(path)
    es.OUTGOING_EVENT.validate_python(recorded, extra="forbid")
    fresh = routing_events()[RoutingEventType(recorded["type"])]
    assert shape(recorded) == shape(envelope(fresh))


def test_outgoing_models_refuse_what_the_contract_excludes() -> None:
    recorded = load(OUTGOING_FIXTURES / "offer_outcome.json")
    for broken in (
        recorded | {"schema_version": 2},
        recorded | {"attempt": 0},
        recorded | {"data": recorded["data"] | {"outcome": "pending"}},
        recorded | {"created_at": "2026-03-02T09:35:00"},
    ):
        with pytest.raises(ValueError, match="validation error"):
            es.OUTGOING_EVENT.validate_python(broken)
    # The drift check above relies on this: a field the models do not know fails the test.
    drifted = recorded | {"data": recorded["data"] | {"surprise": 1}}
    es.OUTGOING_EVENT.validate_python(drifted)
    with pytest.raises(ValueError, match="surprise"):
        es.OUTGOING_EVENT.validate_python(drifted, extra="forbid")


def test_catalog_page_keeps_unknown_fields_as_attributes() -> None:
    page = es.CatalogPage.model_validate(
        {"items": [{"id": 7, "name": "Billing", "channels": ["chat"]}], "next": None}
    )
    assert page.items[0].id == "7"
    assert page.items[0].model_extra == {"channels": ["chat"]}
