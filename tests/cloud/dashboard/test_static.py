"""The dashboard's files as the API serves them (content types, cache validation, the
Content-Security-Policy, nothing outside ``static/``, nothing in the OpenAPI document),
and its strings: both languages have the same keys, every key a script or the HTML uses
exists, and the HTML holds no visible text of its own."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bohsense.cli import build_parser
from bohsense.cloud.api import create_app
from bohsense.cloud.boh import BohCore
from bohsense.cloud.dashboard import CONTENT_SECURITY_POLICY, STATIC_DIR, build_routes

LANGS = ("en", "zh-CN")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    core = BohCore(f"sqlite:///{tmp_path_factory.mktemp('dash') / 'boh.db'}")
    core.migrate()
    with TestClient(create_app(core=core, tsdb=None, api_token="a-token-0123456789")) as c:  # type: ignore[arg-type]
        yield c
    core.close()


def test_the_root_and_the_bare_path_lead_to_the_dashboard(client: TestClient) -> None:
    for path in ("/", "/dashboard"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (307, "/dashboard/")


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("i18n/zh-CN.json", "application/json"),
        ("vendor/echarts.min.js", "text/javascript; charset=utf-8"),
        ("vendor/echarts.LICENSE", "text/plain; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_files_are_served_without_a_token_with_their_type_and_policy(
    client: TestClient, name: str, media: str
) -> None:
    r = client.get(f"/dashboard/{name}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == media
    assert r.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-cache"
    again = client.get(f"/dashboard/{name}", headers={"If-None-Match": r.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")


def test_the_policy_allows_no_inline_script_and_no_other_origin() -> None:
    rules = dict(rule.split(" ", 1) for rule in CONTENT_SECURITY_POLICY.split("; "))
    assert rules["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "connect-src"):
        assert rules[directive] == "'self'", directive
    assert rules["frame-ancestors"] == "'none'"


def test_the_data_stays_behind_the_token(client: TestClient) -> None:
    assert client.get("/api/v1/alerts").status_code == 401


@pytest.mark.parametrize("name", ["nope.js", "../_routes.py", "%2e%2e/_routes.py", "i18n", "vendor/"])
def test_only_the_shipped_files_are_served(client: TestClient, name: str) -> None:
    r = client.get(f"/dashboard/{name}")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_the_dashboard_is_not_part_of_the_api_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/v1/") and p != "/metrics"], sorted(paths)


def test_a_router_without_an_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"index\.html"):
        build_routes(tmp_path)
    (tmp_path / "index.html").write_text("<!doctype html>")
    app = FastAPI()
    app.router.routes.extend(build_routes(tmp_path))
    assert TestClient(app).get("/dashboard/").text == "<!doctype html>"


def _strings(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
    return data


def test_both_languages_have_the_same_keys_and_no_empty_string() -> None:
    en, zh = (_strings(lang) for lang in LANGS)
    assert sorted(en) == sorted(zh), set(en) ^ set(zh)
    for lang in LANGS:
        assert not [k for k, v in _strings(lang).items() if not v.strip()], lang
    # the Chinese file is a translation, not a copy (names and units may stay as they are)
    same = [k for k in en if en[k] == zh[k]]
    assert len(same) < len(en) / 10, same


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.keys: list[str] = []
        self.inline_scripts = 0
        self.styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.keys += [v for k, v in attrs if k.startswith("data-i18n") and v]
        self._in_script = tag == "script"
        if tag == "script" and "src" not in a:
            self.inline_scripts += 1
        if tag == "style" or "style" in a or any(k.startswith("on") for k in a):
            self.styles += 1
        for visible in ("placeholder", "title", "aria-label", "alt", "value"):
            if tag != "option" and a.get(visible):
                self.text.append(f"{tag}[{visible}]={a[visible]}")

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def test_the_html_holds_no_visible_string_and_no_inline_code() -> None:
    page = _Text()
    page.feed((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    assert page.text == [], "visible text must come from the i18n files"
    assert page.inline_scripts == 0
    assert page.styles == 0, "inline styles and handlers are refused by the policy"
    missing = [k for k in page.keys if k not in _strings("en")]
    assert missing == []


#: t("key"), and the prefixes the scripts build keys from (label("state", x) -> state.x)
T_CALL = re.compile(r"""\bt\(\s*"([A-Za-z0-9_.]+)\"""")
KEY_ARG = re.compile(r"""\b(?:button|empty|kpi)\(\s*"([A-Za-z0-9_.]+)\"""")
PREFIX = re.compile(r"""\b(?:label|badge)\(\s*"([a-z]+)\"""")
TEMPLATE = re.compile(r"""t\(`([a-z]+)\.\$\{""")


def test_every_key_the_scripts_use_exists_in_both_languages() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted(STATIC_DIR.glob("*.js")))
    used = set(T_CALL.findall(source)) | set(KEY_ARG.findall(source))
    assert len(used) > 50, used
    prefixes = set(PREFIX.findall(source)) | set(TEMPLATE.findall(source))
    for lang in LANGS:
        strings = _strings(lang)
        assert sorted(used - set(strings)) == [], lang
        for prefix in prefixes:
            assert any(k.startswith(f"{prefix}.") for k in strings), (lang, prefix)
    en = _strings("en")
    for prefix, values in {
        "nav": ("store", "assets", "alerts", "workorders", "replenishment", "fleet"),
        "role": ("technician", "store_manager", "planner", "hq", "admin"),
        "live": ("live", "polling", "reconnecting", "off"),
        "level": ("in_stock", "low", "out_of_stock", "untrusted", "unknown"),
        "state": (
            "open",
            "acknowledged",
            "resolved",
            "in_progress",
            "done",
            "closed",
            "proposed",
            "approved",
        ),
    }.items():
        assert [v for v in values if f"{prefix}.{v}" not in en] == [], prefix


def test_the_vendored_chart_library_ships_with_its_license() -> None:
    vendor = STATIC_DIR / "vendor"
    assert "Apache License" in (vendor / "echarts.LICENSE").read_text(encoding="utf-8")
    assert (vendor / "echarts.min.js").stat().st_size > 500_000
    assert "echarts" in (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def test_every_command_the_dashboards_page_shows_parses() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "dashboard.md").read_text(encoding="utf-8")
    lines = [ln for block in re.findall(r"```sh\n(.*?)```", doc, flags=re.S) for ln in block.splitlines()]
    commands = [shlex.split(ln) for ln in lines if ln.startswith("bohsense ")]
    assert commands, "docs/dashboard.md shows how to add a person"
    for argv in commands:
        args = build_parser().parse_args(argv[1:])
        assert callable(args.handler), argv
