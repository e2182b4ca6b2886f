"""Serving the browser app: the shell at `/`, its service worker at `/sw.js`, modules and styles under `/static`.

Files are revalidated (ETag) rather than versioned by name: there is no build step to stamp hashes into
names, and the service worker answers from its cache first, so a slow link costs one revalidation per file
only when the annotator is online, never a blank page.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from kolam.web import STATIC_DIR

_REVALIDATE = {"Cache-Control": "no-cache"}


class _RevalidatedFiles(StaticFiles):
    """StaticFiles (ETag, Last-Modified, 304s) that tells browsers to revalidate instead of guessing freshness."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers.update(_REVALIDATE)
        return response


def install(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    def shell() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_REVALIDATE)

    @router.get("/sw.js")
    def service_worker() -> FileResponse:
        return FileResponse(STATIC_DIR / "sw.js", media_type="text/javascript; charset=utf-8", headers=_REVALIDATE)

    app.include_router(router)
    app.mount("/static", _RevalidatedFiles(directory=STATIC_DIR), name="static")
