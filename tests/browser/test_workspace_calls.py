"""A simulated phone call in the real workspace: the provider's panel, then the call controls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import Site, shot, sign_in
from tests.procs import free_port
from tests.sim.procs import start_sim

SIM_SECRET = "workspace-sim-webhook-secret-0123456789abcdef"


def admin(site: Site, method: str, path: str, body: dict[str, Any]) -> Any:
    r = site.api.request(method, path, json=body, headers=site.auth("admin"))
    assert r.status_code < 300, r.text
    return r.json()


@pytest.fixture
def sim_url(site: Site) -> Iterator[str]:
    """The contact-center simulator as the provider of a spoke `sim` with a voice queue."""
    port = free_port()
    admin(
        site,
        "POST",
        "/spokes",
        {
            "name": "sim",
            "kind": "webhook",
            "settings": {"url": f"http://127.0.0.1:{port}/webhook", "secret": SIM_SECRET},
            "presence_map": {"available": "On Queue", "away": "Away", "offline": "Offline"},
        },
    )
    queue = {"id": "phones", "name": "Phones", "channels": ["voice"], "rule_id": "standard"}
    external = {
        "routing_mode": "external",
        "spoke": "sim",
        "provider_queue_id": "sim-queue-general",
    }
    admin(site, "POST", "/queues", queue | external)
    admin(site, "PUT", "/spokes/sim/panel", {"panel_url": f"http://127.0.0.1:{port}/panel"})
    sim = start_sim(
        site.server.log_path.parent / "sim.log",
        omniroute_url=site.url,
        token="token-integration",
        secret=SIM_SECRET,
        spoke="sim",
        think_ms=0,
        port=port,
    )
    try:
        yield sim.base_url
    finally:
        sim.terminate()


def test_a_call_from_the_panel_is_held_and_ended_in_the_workspace(
    chromium: Browser, site: Site, sim_url: str
) -> None:
    # Alice's provider identity is already linked (through the endpoint the panel's sign-in
    # uses), so the docked panel starts signed in and the simulator routes to her.
    r = site.api.post(
        "/agents/alice/connector-panels/sim/sign-in",
        json={"provider_agent_id": "sim-agent-1"},
        headers=site.auth("alice"),
    )
    assert r.status_code == 200, r.text
    alice = sign_in(chromium, site, "alice")
    panel = alice.frame_locator("iframe.cn-frame")
    expect(panel.locator("#provider")).to_have_text("sim-agent-1")
    # Omniroute tells the simulator, through the spoke, that alice is on queue.
    alice.get_by_label("Presence").select_option("available")
    started = httpx.post(f"{sim_url}/sim/calls", json={"queue_id": "phones"})
    assert started.status_code == 201, started.text

    card = alice.locator(".offer-card")
    expect(card).to_have_count(1)
    card.get_by_role("button", name="Accept").click()
    controls = alice.locator(".call-controls")
    expect(controls.locator(".cc-state")).to_have_text("Connected")
    expect(controls.get_by_role("button")).to_have_text(["Hold", "Mute", "Transfer…", "End call"])
    controls.get_by_role("button", name="Hold").click()
    expect(controls.locator(".cc-state")).to_have_text("On hold")
    expect(controls.get_by_role("button")).to_have_text(["Resume", "Transfer…", "End call"])
    shot(alice, "workspace-call-on-hold")
    # One transfer and one end on the page: the call's own.
    expect(alice.get_by_role("button", name=re.compile("^Transfer"))).to_have_count(1)
    expect(alice.get_by_role("button", name=re.compile("^End"))).to_have_count(1)
    controls.get_by_role("button", name="End call").click()
    expect(controls.locator(".cc-state")).to_have_text("Call ended")
    calls = httpx.get(f"{sim_url}/sim/state").json()["calls"]
    assert [c["history"] for c in calls] == [["answer", "hold", "end"]]
    # The ended call moves the interaction to wrap-up.
    expect(alice.locator(".conv-title .pill")).to_have_text("Wrap-up")
    expect(alice.get_by_label("Wrap-up code")).to_be_visible()
    shot(alice, "workspace-call-wrap-up")

    # The contact-center panel folds away and comes back, still signed in.
    toggle = alice.get_by_role("button", name="Contact center")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(alice.locator("iframe.cn-frame")).to_be_hidden()
    shot(alice, "workspace-panel-collapsed")
    toggle.click()
    expect(panel.locator("#provider")).to_have_text("sim-agent-1")
