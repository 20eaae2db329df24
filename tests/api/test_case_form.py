"""The public case form: signed one-time tokens, validation next to fields, honeypot, no repeats."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.api.conftest import Api

GOOD = {
    "name": "Ann Lee",
    "email": "Ann@Example.com",
    "subject": "Wrong size",
    "description": "I ordered 41 and got 44.",
    "website": "",
}


@pytest.fixture
def site(api: Api) -> httpx.AsyncClient:
    """A client for the server's pages (not under /api/v1)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://test")


async def token(site: httpx.AsyncClient) -> str:
    """The form token of a freshly loaded form."""
    r = await site.get("/support/case")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    match = re.search(r'name="form_token" value="([^"]+)"', r.text)
    assert match is not None
    return match.group(1)


async def cases(api: Api) -> list[dict[str, str]]:
    """Every case, newest first."""
    r = await api.client.get("/cases", headers=api.auth("admin"))
    body: list[dict[str, str]] = r.json()
    return body


async def test_a_good_form_files_one_routed_case(api: Api, site: httpx.AsyncClient) -> None:
    form = GOOD | {"form_token": await token(site)}
    r = await site.post("/support/case", data=form)
    assert r.status_code == 200, r.text
    assert "Thank you, we have your request" in r.text
    [case] = await cases(api)
    assert case["reference"] == f"CS-{case['number']}"
    assert f'<strong class="ref">{case["reference"]}</strong>' in r.text
    assert (case["customer_email"], case["subject"], case["state"]) == (
        "ann@example.com",
        "Wrong size",
        "open",
    )
    r = await api.client.get(
        "/work-items", params={"document_id": case["id"]}, headers=api.auth("admin")
    )
    assert [i["queue_id"] for i in r.json()] == ["cases"]
    again = await site.post("/support/case", data=form)
    assert case["reference"] in again.text
    assert len(await cases(api)) == 1


async def test_errors_are_shown_next_to_their_fields(api: Api, site: httpx.AsyncClient) -> None:
    form = GOOD | {"email": "nope", "subject": " ", "form_token": await token(site)}
    r = await site.post("/support/case", data=form)
    assert r.status_code == 422
    assert "Please fix 2 things" in r.text
    assert re.search(r'id="email-error">Enter an email address', r.text)
    assert re.search(r'id="email"[^>]*aria-describedby="email-hint email-error"', r.text)
    assert 'value="Ann Lee"' in r.text
    assert await cases(api) == []


async def test_forged_or_missing_tokens_file_nothing(api: Api, site: httpx.AsyncClient) -> None:
    good = await token(site)
    forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    for bad in ("", "123.abc.def", forged):
        r = await site.post("/support/case", data=GOOD | {"form_token": bad})
        assert r.status_code == 400
        assert "The form had expired" in r.text
        assert "Ann Lee" in r.text
    assert await cases(api) == []


async def test_an_expired_token_is_refused(api: Api, site: httpx.AsyncClient) -> None:
    form = GOOD | {"form_token": await token(site)}
    api.clock.advance(3 * 3600)
    r = await site.post("/support/case", data=form)
    assert r.status_code == 400
    assert await cases(api) == []


async def test_the_honeypot_files_nothing(api: Api, site: httpx.AsyncClient) -> None:
    r = await site.post(
        "/support/case", data=GOOD | {"website": "http://spam", "form_token": await token(site)}
    )
    assert r.status_code == 200
    assert "Thank you" in r.text
    assert await cases(api) == []


async def test_demo_shop_page_has_the_one_script_tag(site: httpx.AsyncClient) -> None:
    r = await site.get("/widget/demo")
    assert r.status_code == 200
    assert '<script src="/static/widget/omniroute-chat.js" data-widget="demo" async>' in r.text
    js = await site.get("/static/widget/omniroute-chat.js")
    assert js.status_code == 200
    assert "attachShadow" in js.text
