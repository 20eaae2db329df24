"""Connector panel configuration, and sign-in sync and presence from the provider's panel."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from omniroute.store import tables as t
from tests.api.assertions import error
from tests.calls.conftest import Calls

PANEL = "https://panel.acme.example/agent?embed=1"


async def put_panel(calls: Calls, **body: object) -> dict[str, object]:
    api = calls.api
    r = await api.client.put(
        "/spokes/acme/panel", json={"panel_url": PANEL} | body, headers=api.auth("admin")
    )
    assert r.status_code == 200, r.text
    result: dict[str, object] = r.json()
    return result


async def test_admin_configures_panel_and_agent_sees_it(calls: Calls) -> None:
    api = calls.api
    panel = await put_panel(
        calls, allowed_origins=["https://softphone.acme.example"], title="Acme phone"
    )
    assert panel["panel_origin"] == "https://panel.acme.example"
    assert panel["allowed_origins"] == [
        "https://panel.acme.example",
        "https://softphone.acme.example",
    ]
    r = await api.client.get("/agents/alice/connector-panels", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    [seen] = r.json()
    assert seen["spoke"] == "acme"
    assert seen["title"] == "Acme phone"
    assert seen["panel_url"] == PANEL
    assert seen["protocol_version"] == 1
    assert seen["provider_agent_id"] == "P-alice"
    assert seen["presence_map"]["available"] == "On Queue"
    carol = await api.client.get("/agents/carol/connector-panels", headers=api.auth("carol"))
    assert carol.json()[0]["provider_agent_id"] is None
    other = await api.client.get("/agents/alice/connector-panels", headers=api.auth("bob"))
    error(other, 403, "FORBIDDEN")
    await put_panel(calls, enabled=False)
    hidden = await api.client.get("/agents/alice/connector-panels", headers=api.auth("alice"))
    assert hidden.json() == []
    gone = await api.client.delete("/spokes/acme/panel", headers=api.auth("admin"))
    assert gone.status_code == 204
    error(await api.client.get("/spokes/acme/panel", headers=api.auth("admin")), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"panel_url": "http://panel.acme.example/"}, "panel_url"),
        ({"panel_url": "javascript:alert(1)"}, "panel_url"),
        ({"allowed_origins": ["https://x.example/path"]}, "allowed_origins.0"),
        ({"allowed_origins": ["*"]}, "allowed_origins.0"),
    ],
)
async def test_panel_urls_and_origins_are_checked(
    calls: Calls, body: dict[str, object], field: str
) -> None:
    api = calls.api
    r = await api.client.put(
        "/spokes/acme/panel", json={"panel_url": PANEL} | body, headers=api.auth("admin")
    )
    error(r, 422, "VALIDATION_ERROR", field)
    by_agent = await api.client.put(
        "/spokes/acme/panel", json={"panel_url": PANEL}, headers=api.auth("alice")
    )
    error(by_agent, 403, "FORBIDDEN")


async def test_loopback_panels_may_use_http(calls: Calls) -> None:
    panel = await put_panel(calls, panel_url="http://127.0.0.1:8123/panel.html")
    assert panel["allowed_origins"] == ["http://127.0.0.1:8123"]


async def test_panel_sign_in_links_the_identity(calls: Calls) -> None:
    api = calls.api
    url = "/agents/carol/connector-panels/acme/sign-in"
    r = await api.client.post(url, json={"provider_agent_id": "P-carol"}, headers=api.auth("carol"))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "linked"
    again = await api.client.post(
        url, json={"provider_agent_id": "P-carol"}, headers=api.auth("carol")
    )
    assert again.json()["outcome"] == "already_linked"
    async with api.app.state.db.session() as s:
        linked = await s.scalar(
            select(t.AgentIdentityRow.agent_id).where(
                t.AgentIdentityRow.spoke == "acme",
                t.AgentIdentityRow.provider_agent_id == "P-carol",
            )
        )
    assert linked == "carol"
    taken = await api.client.post(
        url, json={"provider_agent_id": "P-alice"}, headers=api.auth("carol")
    )
    error(taken, 409, "IDENTITY_CONFLICT", "provider_agent_id")
    second = await api.client.post(
        "/agents/alice/connector-panels/acme/sign-in",
        json={"provider_agent_id": "P-other"},
        headers=api.auth("alice"),
    )
    error(second, 409, "IDENTITY_CONFLICT")
    for_other = await api.client.post(
        url, json={"provider_agent_id": "P-carol"}, headers=api.auth("alice")
    )
    error(for_other, 403, "FORBIDDEN")
    no_spoke = await api.client.post(
        "/agents/carol/connector-panels/ghost/sign-in",
        json={"provider_agent_id": "P-carol"},
        headers=api.auth("carol"),
    )
    error(no_spoke, 404, "NOT_FOUND", "spoke")


async def test_panel_presence_maps_the_providers_state(calls: Calls) -> None:
    api = calls.api
    url = "/agents/alice/connector-panels/acme/presence"
    r = await api.client.post(url, json={"state_name": "away"}, headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    assert r.json() == {"agent_id": "alice", "presence_id": "away"}
    now = await api.client.get("/agents/alice/presence", headers=api.auth("alice"))
    assert now.json()["presence_id"] == "away"
    unmapped = await api.client.post(url, json={"state_name": "Lunch"}, headers=api.auth("alice"))
    err = error(unmapped, 422, "VALIDATION_ERROR", "state_name")
    assert "On Queue" in err["message"]
    # The panel's own provider is not told back what it just told us; our own change is.
    async with api.app.state.db.session() as s:
        payloads = await s.scalars(
            select(t.OutboxEventRow.payload).where(t.OutboxEventRow.type == "agent_presence")
        )
        states = [p["provider_state"] for p in payloads if p["agent_id"] == "alice"]
    assert states == ["On Queue"]
