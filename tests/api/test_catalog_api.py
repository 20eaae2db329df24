"""Catalog import over the API: review, import, idempotence, dry run, errors."""

from __future__ import annotations

from typing import Any

import pytest

from omniroute.domain.errors import NotFoundError
from omniroute.spokes.base import AnySpoke, SpokeAuthError, SpokeError, SpokeUnavailableError
from tests.api.conftest import Api
from tests.test_catalog_import import SPOKE, FakeSpoke, NoWrapUpSpoke


def register(api: Api, monkeypatch: pytest.MonkeyPatch, spoke: AnySpoke) -> None:
    """Make the app's spoke manager answer with this spoke for its name."""

    def get(name: str) -> AnySpoke:
        if name != SPOKE:
            raise NotFoundError("spoke", name, "name")
        return spoke

    async def ready(name: str) -> AnySpoke:
        return get(name)

    monkeypatch.setattr(api.app.state.spokes, "get", get)
    monkeypatch.setattr(api.app.state.spokes, "ready", ready)


@pytest.fixture
def spoke(api: Api, monkeypatch: pytest.MonkeyPatch) -> FakeSpoke:
    """The fake provider, registered as spoke 'acme'."""
    fake = FakeSpoke()
    register(api, monkeypatch, fake)
    return fake


async def post_import(api: Api, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """A successful import."""
    resp = await api.client.post(
        f"/spokes/{SPOKE}/import", json=body or {}, headers=api.auth("admin")
    )
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


async def test_review_lists_new_entries(api: Api, spoke: FakeSpoke) -> None:
    resp = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "skills"}, headers=api.auth("admin")
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["spoke"] == SPOKE
    assert body["kind"] == "skills"
    assert body["supported"] is True
    assert body["counts"] == {"new": 3, "changed": 0, "unchanged": 0, "gone": 0}
    assert [e["provider_id"] for e in body["new"]] == ["sk-en", "sk-bill", "sk-tech"]
    assert body["new"][1] == {
        "provider_id": "sk-bill",
        "name": "Billing",
        "status": "new",
        "our_id": None,
        "changed_fields": [],
        "attributes": {"description": "Invoices"},
    }


@pytest.mark.parametrize("who", ["alice", "integration"])
async def test_admin_only(api: Api, spoke: FakeSpoke, who: str) -> None:
    resp = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "skills"}, headers=api.auth(who)
    )
    assert resp.status_code == 403
    resp = await api.client.post(f"/spokes/{SPOKE}/import", json={}, headers=api.auth(who))
    assert resp.status_code == 403
    assert spoke.calls == 0


async def test_import_then_import_again(api: Api, spoke: FakeSpoke) -> None:
    body = await post_import(api)
    assert body["dry_run"] is False
    assert list(body["kinds"]) == ["skills", "queues", "wrap_up_codes"]
    queues = body["kinds"]["queues"]
    assert queues["counts"]["new"] == 3
    created = {i["provider_id"]: i["our_id"] for i in queues["imported"]}
    assert set(created) == {"q-gen", "q-bill", "q-tech"}
    # The engine was reloaded: it routes with the new external queue.
    config = api.engine.state.config
    queue = config.queues[created["q-bill"]]
    assert queue.routing_mode.value == "external"
    assert (queue.spoke, queue.provider_queue_id) == (SPOKE, "q-bill")
    assert queue.rule_id == "standard"
    resp = await api.client.get(f"/queues/{created['q-bill']}", headers=api.auth("admin"))
    assert resp.json()["skills"][0]["skill_id"] == "billing-2"
    assert body["kinds"]["wrap_up_codes"]["imported"][1]["our_id"] in api.engine.state.wrap_up_codes

    again = await post_import(api)
    for kind in again["kinds"].values():
        assert kind["counts"]["new"] == kind["counts"]["changed"] == 0
        assert kind["counts"]["unchanged"] > 0
        assert kind["imported"] == []


async def test_changed_and_gone(api: Api, spoke: FakeSpoke) -> None:
    await post_import(api)
    spoke.entry("wrap_up_codes", "w-fu")["attributes"] = {"time_limit_s": 300}
    spoke.data["wrap_up_codes"] = [w for w in spoke.data["wrap_up_codes"] if w["id"] != "w-res"]
    resp = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "wrap_up_codes"}, headers=api.auth("admin")
    )
    body = resp.json()
    assert body["counts"] == {"new": 0, "changed": 1, "unchanged": 0, "gone": 1}
    assert body["changed"][0]["changed_fields"] == ["attributes.time_limit_s"]
    assert body["gone"][0]["our_id"] == "resolved-2"
    out = await post_import(api, {"kinds": ["wrap_up_codes"]})
    (imported,) = out["kinds"]["wrap_up_codes"]["imported"]
    assert (imported["action"], imported["fields"]) == ("updated", ["time_limit_s"])
    codes = api.engine.state.wrap_up_codes
    assert codes[imported["our_id"]].time_limit_s == 300
    assert "resolved-2" in codes  # gone, still there


async def test_dry_run_and_only(api: Api, spoke: FakeSpoke) -> None:
    dry = await post_import(api, {"dry_run": True})
    assert dry["dry_run"] is True
    assert len(dry["kinds"]["skills"]["imported"]) == 3
    resp = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "skills"}, headers=api.auth("admin")
    )
    assert resp.json()["counts"]["new"] == 3

    out = await post_import(api, {"kinds": ["skills", "queues"], "only": {"skills": ["sk-en"]}})
    assert [i["provider_id"] for i in out["kinds"]["skills"]["imported"]] == ["sk-en"]
    assert out["kinds"]["queues"]["imported"] == []
    assert "english-us" in api.engine.state.skill_ids


async def test_queue_defaults(api: Api, spoke: FakeSpoke) -> None:
    out = await post_import(
        api,
        {
            "kinds": ["queues"],
            "only": {"queues": ["q-tech"]},
            "queue_defaults": {"channels": ["email"], "rule_id": "strict"},
        },
    )
    (created,) = out["kinds"]["queues"]["imported"]
    queue = api.engine.state.config.queues[created["our_id"]]
    assert (queue.channels, queue.rule_id) == (("email",), "strict")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"queue_defaults": {"rule_id": "nope"}}, 404, "NOT_FOUND"),
        ({"queue_defaults": {"channels": []}}, 422, "VALIDATION_ERROR"),
        ({"only": {"skills": ["nope"]}}, 422, "VALIDATION_ERROR"),
        ({"kinds": ["nope"]}, 422, "VALIDATION_ERROR"),
        ({"surprise": 1}, 422, "VALIDATION_ERROR"),
    ],
)
async def test_bad_requests(
    api: Api, spoke: FakeSpoke, body: dict[str, Any], status: int, code: str
) -> None:
    resp = await api.client.post(f"/spokes/{SPOKE}/import", json=body, headers=api.auth("admin"))
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    check = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "skills"}, headers=api.auth("admin")
    )
    assert check.json()["counts"]["new"] == 3


async def test_unknown_spoke_and_kind(api: Api, spoke: FakeSpoke) -> None:
    resp = await api.client.get(
        "/spokes/other/catalog", params={"kind": "skills"}, headers=api.auth("admin")
    )
    assert resp.status_code == 404
    resp = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "hats"}, headers=api.auth("admin")
    )
    assert resp.status_code == 422


async def test_unsupported_kind_is_empty_with_a_note(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(api, monkeypatch, NoWrapUpSpoke())
    resp = await api.client.get(
        f"/spokes/{SPOKE}/catalog", params={"kind": "wrap_up_codes"}, headers=api.auth("admin")
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["supported"] is False
    assert body["counts"] == {"new": 0, "changed": 0, "unchanged": 0, "gone": 0}
    assert "no wrap_up_codes catalog" in body["notes"][0]
    out = await post_import(api)
    assert out["kinds"]["wrap_up_codes"]["supported"] is False
    assert len(out["kinds"]["skills"]["imported"]) == 3


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (SpokeUnavailableError("provider down"), "SPOKE_UNAVAILABLE"),
        (SpokeAuthError("token expired"), "SPOKE_AUTH_FAILED"),
    ],
)
async def test_spoke_errors_are_502(
    api: Api, spoke: FakeSpoke, error: SpokeError, code: str
) -> None:
    spoke.error = error
    for method, path, kwargs in (
        ("GET", "catalog", {"params": {"kind": "queues"}}),
        ("POST", "import", {"json": {}}),
    ):
        resp = await api.client.request(
            method, f"/spokes/{SPOKE}/{path}", headers=api.auth("admin"), **kwargs
        )
        assert resp.status_code == 502, resp.text
        assert resp.json()["error"]["code"] == code
