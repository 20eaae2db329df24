"""Static files: compressed, cached for good under a content-hash path, pages that point there."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from fastapi.responses import HTMLResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Pages, scripts and styles of the workspace, widget and supervisor view: no build step.
WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
STATIC_PREFIX = "/static"
VERSIONED = f"{STATIC_PREFIX}/v"
# A versioned URL never changes content: browsers keep it a year without asking again.
IMMUTABLE = "public, max-age=31536000, immutable"
# Unversioned URLs (the widget's embed script) are revalidated with their ETag every time.
REVALIDATE = "no-cache"


@cache
def version(root: Path = WEB_ROOT) -> str:
    """A digest of every file under the web root: a new release gets new URLs."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def versioned(path: str) -> str:
    """The cache-forever URL of a file under the web root, e.g. `workspace/app.js`."""
    return f"{VERSIONED}/{version()}/{path.lstrip('/')}"


class CachedStatic(StaticFiles):
    """StaticFiles with a Cache-Control header of our choice."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file (or 304), with our caching rule."""
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = self.cache_control
        return response


@cache
def _page_text(path: Path) -> str:
    # Absolute /static/ references in a page move to the versioned prefix; relative imports
    # inside the scripts then resolve there too.
    return path.read_text(encoding="utf-8").replace(
        f'"{STATIC_PREFIX}/', f'"{VERSIONED}/{version()}/'
    )


def page(path: Path, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """An HTML page whose scripts and styles load from the versioned, cache-forever URLs."""
    return HTMLResponse(_page_text(path), headers=dict(headers or {}))
