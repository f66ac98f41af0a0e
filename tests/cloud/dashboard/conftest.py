"""The dashboard against the real thing: a real uvicorn serving the real app on a free
port over a seeded BOH core with two stores (``served``), and the system Chromium (Debian
``chromium``) driven headless by Playwright — one server and one browser per module, a
fresh browser context (cookies, storage) per test. Playwright never downloads a browser.

People of each role are created the way an administrator's tools do (``people``) and the
tests sign in as them through the page's form; one test serves the same stores without
sign-in, where the dashboard runs as the local administrator.
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

from .people import PASSWORD, add_people
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
    tsdb: Path
    made: dict[str, Any]
    #: the administrator's access token (to check through the API what the page did)
    token: str

    def api(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(
            kw.pop("method", "GET"), f"{self.base}/api/v1{path}", timeout=10, headers=headers, **kw
        )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The seeded stores and their people, served by the real app with sign-in on."""
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'boh.db'}"
    made = seed(url, tmp / "ts.db")
    add_people(url)
    app, core = build_app(url, tmp / "ts.db", sign_in=True)
    try:
        with serving(app, free_port()) as base:
            signed = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"grant_type": "password", "username": "admin", "password": PASSWORD},
                timeout=10,
            )
            assert signed.status_code == 200, signed.text
            yield Served(base, url, tmp / "ts.db", made, signed.json()["access_token"])
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

    def __init__(self, page: Any, base: str, shots: Path, sign_in: bool = True) -> None:
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
        """Go to ``view``, signing in as ``user`` when the page asks who is there."""
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
    """One tab in a fresh context (tablet-sized, English)."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="en-US")
    try:
        yield Page(context.new_page(), served.base, shots)
    finally:
        context.close()


@pytest.fixture
def second_tab(browser: Any, served: Served, shots: Path) -> Iterator[Page]:
    """Another person's browser: a context of its own."""
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="en-US")
    try:
        yield Page(context.new_page(), served.base, shots)
    finally:
        context.close()
