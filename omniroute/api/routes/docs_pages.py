"""The interactive API documentation pages: offline assets, a content security policy."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from omniroute.api.assets import IMMUTABLE, CachedStatic

router = APIRouter(include_in_schema=False)

# Swagger UI and ReDoc come bundled in a wheel and are served from here: docs work offline.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
# The bundle's version is in the URL, so its files are cached for good.
ASSETS = f"/docs-assets/{version('fastapi-offline')}"
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
        f"default-src 'self'; script-src 'self' {_script_hashes(html)}; "
        f"style-src 'self' {style}; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'; object-src 'none'; "
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
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
    )
    return _with_policy(page, style="")


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    """Swagger UI's OAuth2 redirect page."""
    return _with_policy(get_swagger_ui_oauth2_redirect_html(), style="")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc over the OpenAPI document (it styles itself inline and runs a blob worker)."""
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{ASSETS}/favicon.png",
        with_google_fonts=False,
    )
    return _with_policy(page, style="'unsafe-inline'", extra="; worker-src 'self' blob:")


def assets() -> CachedStatic:
    """The docs' scripts and styles, to mount at ASSETS."""
    return CachedStatic(directory=ASSETS_DIR, cache_control=IMMUTABLE)
