"""The dashboard against the real thing: a real uvicorn serving the real app on a free
port over a seeded BOH core with two stores (``served``), and the system Chromium (Debian
``chromium``) driven headless by Playwright — one server and one browser per module, a
fresh browser context (cookies, storage) per test. Playwright never downloads a browser.

Where the cloud has sign-in, people of each role are created the way an administrator
does (``people``) and the tests sign in as them through the page's form; without it the
dashboard runs open as the local administrator, and the sign-in tests say so as a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.support.services import free_port

from .people import PASSWORD, add_people, sign_in_available
from .seed import seed
from .served import build_app, serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: how long a view may take to show what a test waits for (ms)
WAIT_MS = 5000


@dataclass
class Served:
    base: str
    database_url: str
    made: dict[str, Any]
    auth: bool
    #: the administrator's access token where the API has sign-in (to check what the page did)
    token: str | None = None

    def api(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.request(
            kw.pop("method", "GET"), f"{self.base}/api/v1{path}", timeout=10, headers=headers, **kw
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The seeded stores served by the real app (and people to sign in, where it has sign-in)."""
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'boh.db'}"
    made = seed(url, tmp / "ts.db")
    sign_in = sign_in_available()
    if sign_in:
        add_people(url)
    app, core = build_app(url, tmp / "ts.db", sign_in=sign_in)
    try:
        with serving(app, free_port()) as base:
            paths = httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]
            assert ("/api/v1/auth/token" in paths) == sign_in, "sign-in is in the cloud but not served"
            served = Served(base, url, made, sign_in)
            if sign_in:
                signed = httpx.post(
                    f"{base}/api/v1/auth/token",
                    data={"grant_type": "password", "username": "admin", "password": PASSWORD},
                    timeout=10,
                )
                assert signed.status_code == 200, signed.text
                served.token = signed.json()["access_token"]
            yield served
    finally:
        core.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One Chromium for the module."""
    assert CHROMIUM.exists(), "the dashboard tests drive Debian's chromium: run scripts/system-deps as root"
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Page:
    """A dashboard tab: the Playwright page, the console's CSP complaints and page errors."""

    def __init__(self, page: Any, base: str, shots: Path, sign_in: bool) -> None:
        self.page = page
        self.base = base
        self.sign_in = sign_in
        self.shots = shots
        self.problems: list[str] = []
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console: {m.text}")
                if m.type == "error" and "Content Security Policy" in m.text
                else None
            ),
        )

    def open(self, view: str, user: str = "admin") -> None:
        """Go to ``view``; where the API has sign-in, sign in as ``user`` when asked to."""
        self.page.goto(f"{self.base}/dashboard/#/{view}")
        if self.sign_in:
            self.page.wait_for_selector("#signin:not([hidden]), #view[data-ready]", timeout=WAIT_MS)
            if self.page.is_visible("#signin"):
                self.log_in(user)
        self.ready(view)

    def log_in(self, user: str, password: str = PASSWORD) -> None:
        self.page.fill("#signin-form [name=username]", user)
        self.page.fill("#signin-form [name=password]", password)
        self.page.click("#signin-form button[type=submit]")

    def ready(self, view: str) -> None:
        self.page.wait_for_selector(f"#view[data-view='{view}'][data-ready]", timeout=WAIT_MS)

    def store(self, site: str) -> None:
        """Choose the store in the header, as a person would."""
        if self.page.get_attribute("#view", "data-site") == site:
            return
        before = self.page.get_attribute("#view", "data-ready")
        self.page.select_option("#site", site)
        self.page.wait_for_function(
            "([site, before]) => { const v = document.getElementById('view');"
            " return v.dataset.site === site && v.dataset.ready !== before; }",
            arg=[site, before],
            timeout=WAIT_MS,
        )

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 1000, path
        return path

    def check_clean(self) -> None:
        assert self.problems == [], self.problems


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where a test's screenshots go: BOHSENSE_TEST_ARTIFACTS/<test> if set, else tmp_path."""
    root = os.environ.get("BOHSENSE_TEST_ARTIFACTS")
    if not root:
        return tmp_path
    out = Path(root) / "dashboard" / request.node.name
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def tab(browser: Any, served: Served, shots: Path) -> Iterator[Page]:
    """One tab in a fresh context (tablet-sized, English), signed in when the API has sign-in."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="en-US")
    try:
        yield Page(context.new_page(), served.base, shots, served.auth)
    finally:
        context.close()


@pytest.fixture
def second_tab(browser: Any, served: Served, shots: Path) -> Iterator[Page]:
    """Another person's browser: a context of its own."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="en-US")
    try:
        yield Page(context.new_page(), served.base, shots, served.auth)
    finally:
        context.close()
