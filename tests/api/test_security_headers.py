"""Every HTML page carries a CSP, a framing ban and nosniff; every answer carries nosniff."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest

from tests.api.conftest import Api

PAGES = ["/workspace", "/supervisor", "/widget/demo", "/support/case", "/docs", "/redoc"]


def _root(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=api.client._transport, base_url="http://test")


@pytest.mark.parametrize("path", PAGES)
async def test_every_html_page_has_the_security_headers(api: Api, path: str) -> None:
    async with _root(api) as client:
        r = await client.get(path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[-1].split(";", 1)[0]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


async def test_static_html_and_json_answers_are_not_sniffed(api: Api) -> None:
    async with _root(api) as client:
        page = await client.get("/static/supervisor/index.html")
        health = await client.get("/healthz")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert health.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in health.headers


async def test_docs_allow_exactly_their_own_inline_script(api: Api) -> None:
    async with _root(api) as client:
        r = await client.get("/docs")
    (script,) = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]


async def test_a_page_keeps_its_own_policy(api: Api) -> None:
    async with _root(api) as client:
        r = await client.get("/workspace")
    assert "frame-src http: https:" in r.headers["content-security-policy"]
