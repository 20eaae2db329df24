"""Workspace start-up: alert preferences, the one-call bootstrap, static caching, offline docs."""

from __future__ import annotations

import re

from omniroute.api.assets import version
from tests.api.assertions import error
from tests.api.conftest import Api
from tests.api.test_session_api import set_password, sign_in


async def test_preferences_default_on_change_one_at_a_time_and_stay(api: Api) -> None:
    r = await api.client.get("/agents/alice/preferences", headers=api.auth("alice"))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "tab_title": True,
        "favicon_badge": True,
        "sound": True,
        "desktop_notification": True,
    }
    r = await api.client.patch(
        "/agents/alice/preferences", headers=api.auth("alice"), json={"sound": False}
    )
    assert r.status_code == 200, r.text
    assert r.json()["sound"] is False
    r = await api.client.patch(
        "/agents/alice/preferences",
        headers=api.auth("alice"),
        json={"desktop_notification": False},
    )
    assert (r.json()["sound"], r.json()["desktop_notification"]) == (False, False)
    again = await api.client.get("/agents/alice/preferences", headers=api.auth("admin"))
    assert again.json() == r.json()
    bob = await api.client.get("/agents/bob/preferences", headers=api.auth("bob"))
    assert bob.json()["sound"] is True


async def test_preferences_refuse_others_unknown_fields_and_wrong_types(api: Api) -> None:
    r = await api.client.get("/agents/alice/preferences", headers=api.auth("bob"))
    error(r, 403, "FORBIDDEN")
    r = await api.client.patch(
        "/agents/alice/preferences", headers=api.auth("integration"), json={"sound": False}
    )
    error(r, 403, "FORBIDDEN")
    r = await api.client.patch(
        "/agents/alice/preferences", headers=api.auth("alice"), json={"volume": 3}
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "volume"
    r = await api.client.patch(
        "/agents/alice/preferences", headers=api.auth("alice"), json={"sound": "loud"}
    )
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "sound"
    r = await api.client.patch(
        "/agents/nobody/preferences", headers=api.auth("admin"), json={"sound": False}
    )
    error(r, 404, "NOT_FOUND")


async def test_bootstrap_returns_session_catalog_presence_preferences_and_open_work(
    api: Api,
) -> None:
    r = await api.client.get("/workspace/bootstrap")
    error(r, 401, "UNAUTHENTICATED")
    await set_password(api, "alice")
    csrf = await sign_in(api)
    created = await api.client.post(
        "/interactions",
        headers=api.auth("integration"),
        json={"channel_id": "chat", "queue_id": "support", "customer_name": "Maya"},
    )
    interaction_id = created.json()["id"]
    await api.client.put(
        "/agents/alice/presence", headers=api.auth("alice"), json={"presence_id": "available"}
    )
    offers = (await api.client.get("/agents/alice/offers", headers=api.auth("alice"))).json()
    r = await api.client.post(f"/offers/{offers[0]['id']}/accept", headers=api.auth("alice"))
    assert r.status_code == 200, r.text

    r = await api.client.get("/workspace/bootstrap")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["session"]["agent_id"] == "alice"
    assert body["session"]["csrf_token"] == csrf
    assert {c["id"] for c in body["catalog"]["channels"]} >= {"chat", "email"}
    assert "available" in {p["id"] for p in body["catalog"]["presence_states"]}
    assert "support" in {q["id"] for q in body["catalog"]["queues"]}
    assert isinstance(body["catalog"]["wrap_up_codes"], list)
    assert body["presence"]["presence_id"] == "available"
    assert body["preferences"]["tab_title"] is True
    assert [i["id"] for i in body["interactions"]] == [interaction_id]
    assert body["cases"] == []


async def test_static_files_are_compressed_and_cached_by_content_hash(api: Api) -> None:
    client = api.client
    page = await client.get("http://test/workspace")
    assert page.headers["cache-control"] == "no-store"
    scripts = re.findall(r'src="([^"]+)"', page.text)
    assert scripts == [f"/static/v/{version()}/workspace/app.js"]
    r = await client.get(f"http://test{scripts[0]}", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert int(r.headers["content-length"]) < len(r.content)
    assert "export" in r.text or "import" in r.text
    # The embeddable widget keeps its stable URL and is revalidated by its ETag.
    widget = await client.get("http://test/static/widget/omniroute-chat.js")
    assert widget.headers["cache-control"] == "no-cache"
    again = await client.get(
        "http://test/static/widget/omniroute-chat.js",
        headers={"If-None-Match": widget.headers["etag"]},
    )
    assert again.status_code == 304
    stale = await client.get("http://test/static/v/0000000000000000/workspace/app.js")
    assert stale.status_code == 404


async def test_docs_load_their_assets_from_this_server(api: Api) -> None:
    page = await api.client.get("http://test/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert assets, page.text
    for url in assets:
        assert url.startswith("/docs-assets/"), url
        r = await api.client.get(f"http://test{url}")
        assert r.status_code == 200, url
    assert "cdn" not in page.text.lower()
    raw = await api.client.get(
        f"http://test{next(u for u in assets if u.endswith('.js'))}",
        headers={"Accept-Encoding": "gzip"},
    )
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_small_api_answers_are_not_compressed(api: Api) -> None:
    r = await api.client.get("http://test/healthz", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert "content-encoding" not in r.headers
