"""``GET /`` (redirect), ``GET /dashboard/`` and ``GET /dashboard/{file}``: the static files.

Only the files present in ``static/`` when the router is built are served (a fixed table,
so a path never reaches the file system: no traversal, no directory listing). Each answer
carries a strong ETag and ``Cache-Control: no-cache`` — the browser keeps its copy and
revalidates it, which costs a 304 and never serves a stale page after an upgrade (the
file names carry no content hash, so a long max-age would). The Content-Security-Policy
allows scripts, styles, images, fonts and connections from this origin only: no inline
script, no ``eval``, no framing.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from starlette.routing import BaseRoute, Route

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "build_routes"]

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/dashboard"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

#: the content types of what ``static/`` holds (mimetypes' table differs between systems)
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}
#: license texts of the vendored files have no extension of their own
PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str


def _load(root: Path) -> dict[str, StaticFile]:
    """Every file under ``root`` by its relative path, read once."""
    files: dict[str, StaticFile] = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        body = path.read_bytes()
        media = TYPES.get(path.suffix) or (
            PLAIN if path.suffix in (".LICENSE", ".NOTICE") else mimetypes.guess_type(path.name)[0]
        )
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        files[path.relative_to(root).as_posix()] = StaticFile(body, media or "application/octet-stream", etag)
    return files


def _headers(etag: str) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": "no-cache",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def _not_modified(request: Request, etag: str) -> bool:
    given = request.headers.get("if-none-match", "")
    return any(tag.strip().removeprefix("W/") == etag for tag in given.split(",")) or given.strip() == "*"


def build_routes(root: Path = STATIC_DIR) -> list[BaseRoute]:
    """The routes over the files of ``root``.

    Plain Starlette routes, not FastAPI operations: they are not the API, so they are in
    neither the OpenAPI document nor the API's role policy, and no credential guards them.
    """
    files = _load(root)
    if "index.html" not in files:
        raise FileNotFoundError(f"the dashboard's index.html is missing from {root}")

    def serve(request: Request, name: str) -> Response:
        found = files.get(name)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dashboard file {name!r}")
        headers = _headers(found.etag)
        if _not_modified(request, found.etag):
            return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
        body = b"" if request.method == "HEAD" else found.body
        return Response(body, media_type=found.media_type, headers=headers)

    async def to_dashboard(request: Request) -> Response:
        return RedirectResponse(f"{PREFIX}/", status_code=status.HTTP_307_TEMPORARY_REDIRECT)

    async def index(request: Request) -> Response:
        return serve(request, "index.html")

    async def asset(request: Request) -> Response:
        return serve(request, request.path_params["name"])

    return [
        Route("/", to_dashboard, methods=["GET", "HEAD"]),
        Route(PREFIX, to_dashboard, methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/", index, methods=["GET", "HEAD"]),
        Route(PREFIX + "/{name:path}", asset, methods=["GET", "HEAD"]),
    ]
