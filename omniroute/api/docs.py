"""API docs that work offline: Swagger UI and ReDoc served from a PyPI package's bundled assets."""

from __future__ import annotations

from importlib.metadata import version as package_version
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

from omniroute.api.assets import IMMUTABLE, CachedStatic

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
# The bundle's version is in the URL, so its files can be cached for good.
PREFIX = f"/docs-assets/{package_version('fastapi-offline')}"


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc with scripts and styles from this server, never a CDN."""
    openapi_url = app.openapi_url or "/openapi.json"
    oauth_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    app.mount(PREFIX, CachedStatic(directory=ASSETS, cache_control=IMMUTABLE), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            oauth2_redirect_url=oauth_redirect,
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon.png",
        )

    @app.get(oauth_redirect, include_in_schema=False)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{PREFIX}/favicon.png",
            with_google_fonts=False,
        )
