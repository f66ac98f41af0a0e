"""The dashboard: a static single-page app served by the API itself at ``/dashboard/``.

The page is plain files shipped in the wheel (``static/``): HTML, one ES module script,
a stylesheet, the English and Simplified Chinese strings, and a vendored charting library.
Nothing is built on the user's machine and nothing is fetched from a CDN. The files need no
authentication; every data call the page makes goes to ``/api/v1`` with the signed-in
person's bearer token, so the API's roles and per-store scoping apply unchanged.
"""

from __future__ import annotations

from ._routes import CONTENT_SECURITY_POLICY, STATIC_DIR, build_routes

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "build_routes"]
