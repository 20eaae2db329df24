"""The interactive API documentation pages, served with a content security policy."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CDN = "https://cdn.jsdelivr.net"
ICONS = "https://fastapi.tiangolo.com"
FONTS_CSS = "https://fonts.googleapis.com"
FONTS = "https://fonts.gstatic.com"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _script_hashes(html: str) -> str:
    """CSP sources that allow exactly the page's own inline scripts."""
    digests = (
        base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode("ascii")
        for body in _INLINE_SCRIPT.findall(html)
    )
    return " ".join(f"'sha256-{d}'" for d in digests)


def _with_policy(page: HTMLResponse, *, style: str, extra: str = "") -> HTMLResponse:
    html = bytes(page.body).decode("utf-8")
    policy = (
        f"default-src 'self'; script-src 'self' {CDN} {_script_hashes(html)}; "
        f"style-src 'self' {style}; img-src 'self' data: {ICONS} {CDN}; "
        f"font-src 'self' {FONTS}; connect-src 'self'; object-src 'none'; "
        f"frame-ancestors 'none'; base-uri 'none'; form-action 'self'{extra}"
    )
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over the OpenAPI document."""
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=OAUTH2_REDIRECT,
    )
    return _with_policy(page, style=CDN)


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return _with_policy(get_swagger_ui_oauth2_redirect_html(), style="")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc over the OpenAPI document (it styles itself inline and runs a blob worker)."""
    page = get_redoc_html(openapi_url=request.app.openapi_url, title=f"{request.app.title} - ReDoc")
    return _with_policy(
        page, style=f"'unsafe-inline' {FONTS_CSS}", extra="; worker-src 'self' blob:"
    )
