"""Each role's key flows in a real browser against the served app: the store's stock and
heat map, an alert acknowledged in one browser and seen changing in another, a work order
started and closed with a resolution code, a proposal's quantity edited and approved,
the fleet across stores, the language switched to 中文 and back. Every test leaves a
screenshot and checks the page through DOM queries; none may trip the page's
Content-Security-Policy or throw."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.support.services import free_port

from .conftest import WAIT_MS, Page, Served
from .served import build_app, serving


def test_the_store_view_shows_stock_flags_and_the_out_of_stock_heat_map(tab: Page) -> None:
    tab.open("store", "manager-a")
    tab.store("store-a")
    p = tab.page
    p.wait_for_selector("#heatmap canvas", timeout=WAIT_MS)
    cola = p.locator(".lane-row[data-sku='COLA']")
    assert cola.get_attribute("data-level") == "out_of_stock"
    assert cola.locator(".units").inner_text() == "0"
    tea = p.locator(".lane-row[data-sku='TEA']")
    assert tea.get_attribute("data-level") == "untrusted"
    assert tea.locator(".flag-untrusted").count() == 1
    assert int(p.get_attribute("#heatmap", "data-cells") or 0) >= 1
    assert p.locator(".kpi[data-kpi='store.outOfStock'] .kpi-n").inner_text() == "1"
    assert p.get_attribute("#live", "data-state") in ("live", "polling")
    tab.shot("store")
    tab.check_clean()


def test_an_acknowledged_alert_changes_state_in_another_browser_within_two_seconds(
    tab: Page, second_tab: Page, served: Served
) -> None:
    (alert_id,) = served.made["store-a"]["alerts"]
    card = f".alert-card[data-id='{alert_id}']"
    for t, user in ((tab, "tech-a"), (second_tab, "manager-a")):
        t.open("alerts", user)
        t.store("store-a")
        t.page.wait_for_selector(f"{card}[data-state='open']", timeout=WAIT_MS)
        t.page.wait_for_function(
            "() => ['live', 'polling'].includes(document.getElementById('live').dataset.state)",
            timeout=WAIT_MS,
        )
    # store B's alert is not in store A's feed
    (other,) = served.made["store-b"]["alerts"]
    assert tab.page.locator(f".alert-card[data-id='{other}']").count() == 0
    tab.page.fill(f"{card} .note", "on my way")
    tab.page.click(f"{card} button.ack")
    tab.page.wait_for_selector(f"{card}[data-state='acknowledged']", timeout=WAIT_MS)
    started = time.monotonic()
    second_tab.page.wait_for_selector(f"{card}[data-state='acknowledged']", timeout=2500)
    seen_after = time.monotonic() - started
    assert second_tab.page.locator(f"{card} button.ack").count() == 0
    assert seen_after < 2.0, seen_after
    assert served.api(f"/alerts/{alert_id}").json()["state"] == "acknowledged"
    tab.shot("alert-acknowledged")
    second_tab.shot("alert-seen-live")
    tab.check_clean()
    second_tab.check_clean()


def test_a_work_order_is_assigned_started_and_closed_with_a_resolution_code(
    tab: Page, served: Served
) -> None:
    (wo,) = served.made["store-b"]["work_orders"]
    card = f".wo-card[data-id='{wo}']"
    tab.open("workorders", "tech-b")
    tab.store("store-b")
    p = tab.page
    p.wait_for_selector(f".column[data-state='open'] {card}", timeout=WAIT_MS)
    p.fill(f"{card} .assignee", "li.wei")
    p.click(f"{card} [data-action='assign']")
    p.wait_for_selector(f"{card} >> text=li.wei", timeout=WAIT_MS)
    p.click(f"{card} [data-action='start']")
    p.wait_for_selector(f".column[data-state='in_progress'] {card}", timeout=WAIT_MS)
    p.select_option(f"{card} select.resolution", "replaced_part")
    p.click(f"{card} [data-action='close']")
    p.wait_for_selector(f".column[data-state='closed'] {card}", timeout=WAIT_MS)
    got = served.api(f"/work-orders/{wo}").json()
    assert (got["state"], got["resolution_code"], got["assignee"]) == ("closed", "replaced_part", "li.wei")
    tab.shot("work-order-closed")
    tab.check_clean()


def test_a_proposal_shows_its_explanation_and_is_approved_with_an_edited_quantity(
    tab: Page, served: Served
) -> None:
    (pid,) = served.made["store-a"]["proposals"]
    card = f".proposal[data-id='{pid}']"
    tab.open("replenishment", "manager-a")
    tab.store("store-a")
    p = tab.page
    p.wait_for_selector(f"{card}[data-state='proposed']", timeout=WAIT_MS)
    explanation = served.api(f"/replenishment/{pid}").json()["explanation"]
    shown = set(p.eval_on_selector_all(f"{card} .explanation tr", "rows => rows.map(r => r.dataset.key)"))
    assert shown == set(explanation) - {"text", "rule_text"}, shown ^ set(explanation)
    assert p.locator(f"{card} .explanation tr[data-key='safety_stock'] td").inner_text() == "4"
    p.fill(f"{card} input.quantity", "48")
    p.click(f"{card} button.approve")
    p.wait_for_selector(f"{card}[data-state='approved']", timeout=WAIT_MS)
    assert p.input_value(f"{card} input.quantity") == "48"
    got = served.api(f"/replenishment/{pid}").json()
    assert (got["state"], got["quantity"], got["approval"]) == ("approved", 48, "human")
    tab.shot("proposal-approved")
    tab.check_clean()


def test_a_quantity_that_is_not_whole_packs_is_refused_with_the_apis_reason(
    tab: Page, served: Served
) -> None:
    (pid,) = served.made["store-b"]["proposals"]
    card = f".proposal[data-id='{pid}']"
    tab.open("replenishment", "planner-b")
    tab.store("store-b")
    p = tab.page
    p.fill(f"{card} input.quantity", "50")
    p.click(f"{card} button.save-qty")
    p.wait_for_selector("#toast.bad:not([hidden])", timeout=WAIT_MS)
    assert "whole number of packs" in p.inner_text("#toast")
    assert served.api(f"/replenishment/{pid}").json()["quantity"] != 50
    tab.check_clean()


def test_the_fleet_view_lists_every_store_with_its_figures(tab: Page, served: Served) -> None:
    tab.open("fleet", "hq")
    p = tab.page
    p.wait_for_selector("#fleet-table tbody tr", timeout=WAIT_MS)
    sites = p.eval_on_selector_all("#fleet-table tbody tr", "rows => rows.map(r => r.dataset.site)")
    assert sites == ["store-a", "store-b"]
    # the figures are the API's store KPIs (GET /fleet/kpis), one cell each per store
    for k in ("opened", "mttr", "mtbf", "inStock", "oosHours", "lost"):
        assert p.locator(f"#fleet-table tbody td[data-k='{k}']").count() == 2, k
    opened = p.eval_on_selector_all(
        "#fleet-table tbody td[data-k='opened']", "cells => cells.map(c => c.textContent)"
    )
    assert all(x.isdigit() for x in opened), opened
    assert p.locator("#site-pick").is_hidden()
    tab.shot("fleet")
    # HQ reads every store's alerts and acts on none: no buttons the API would refuse
    p.click("nav a[data-view='alerts']")
    tab.ready("alerts")
    assert p.locator(".alert-card").count() >= 1
    assert p.locator(".alert-card button").count() == 0
    tab.check_clean()


def test_asset_health_shows_the_open_alert_and_the_readings_trend(tab: Page) -> None:
    tab.open("assets", "tech-a")
    tab.store("store-a")
    p = tab.page
    asset = p.locator(".asset[data-id='cooler-store-a']")
    assert asset.get_attribute("data-health") in ("major", "ok")
    p.wait_for_selector("#trend[data-series] canvas", timeout=WAIT_MS)
    assert int(p.get_attribute("#trend", "data-series") or 0) == 2  # vibration and temperature
    # the API's health of the asset: its state from the open alert, a spectrum panel either way
    state = {"ok": "ok", "critical": "alarm"}.get(asset.get_attribute("data-health") or "", "watch")
    assert p.get_attribute("#asset-health", "data-state") == state
    assert p.locator("#asset-health .kpi[data-kpi='score']").count() == 1
    assert p.get_attribute("#spectrum", "data-kind") in ("fft", "envelope", "none")
    tab.shot("assets")
    tab.check_clean()


def test_the_language_switches_to_chinese_stays_after_a_reload_and_switches_back(tab: Page) -> None:
    p = tab.page
    tab.open("store")
    assert p.inner_text("nav a[data-view='store']") == "Store"
    p.select_option("#lang", "zh-CN")
    p.wait_for_function("() => document.documentElement.lang === 'zh-CN'", timeout=WAIT_MS)
    tab.ready("store")
    p.wait_for_selector("#view h1 >> text=货架与库存", timeout=WAIT_MS)
    assert p.inner_text("nav a[data-view='store']") == "门店"
    zh = json.loads(p.evaluate("() => fetch('i18n/zh-CN.json').then(r => r.text())"))
    body = p.inner_text("body")
    assert not [k for k in zh if k in body], "an i18n key is shown instead of its string"
    tab.shot("store-zh")
    p.reload()
    tab.ready("store")
    assert p.inner_text("nav a[data-view='store']") == "门店"
    p.select_option("#lang", "en")
    p.wait_for_function("() => document.documentElement.lang === 'en'", timeout=WAIT_MS)
    p.wait_for_selector("#view h1 >> text=Shelves and stock", timeout=WAIT_MS)
    tab.check_clean()


def test_the_language_follows_the_browser_when_not_chosen(browser: Any, served: Served, shots: Path) -> None:
    context = browser.new_context(locale="zh-CN")
    try:
        tab = Page(context.new_page(), served.base, shots)
        tab.page.goto(f"{served.base}/dashboard/")
        tab.page.wait_for_selector("#signin:not([hidden]), #view[data-ready]", timeout=WAIT_MS)
        assert tab.page.evaluate("() => document.documentElement.lang") == "zh-CN"
        tab.open("alerts", "tech-a")
        assert tab.page.inner_text("#view h1") == "告警列表"
        tab.check_clean()
    finally:
        context.close()


def test_the_sse_parser_reassembles_events_split_anywhere(tab: Page) -> None:
    tab.page.goto(f"{tab.base}/dashboard/")  # the page's origin, signed in or not
    tab.page.wait_for_selector("#signin:not([hidden]), #view[data-ready]", timeout=WAIT_MS)
    got = tab.page.evaluate(
        """async () => {
        const { SseParser } = await import('./feed.js');
        const wire = 'id: 7\\nevent: alert.acknowledged\\ndata: {"id":7,\\ndata: "to_state":"acknowledged"}\\n\\n'
                   + ': keep-alive\\r\\n\\r\\nid: 8\\r\\nevent: work_order.closed\\r\\ndata: {"id":8}\\r\\n\\r\\n';
        const out = [];
        for (let size = 1; size <= wire.length; size += 1) {
          const p = new SseParser();
          const evs = [];
          for (let i = 0; i < wire.length; i += size) evs.push(...p.push(wire.slice(i, i + size)));
          out.push(JSON.stringify(evs));
        }
        return out;
    }"""
    )
    assert len(set(got)) == 1, "the events depend on where the stream was split"
    assert json.loads(got[0]) == [
        {"id": "7", "event": "alert.acknowledged", "data": '{"id":7,\n"to_state":"acknowledged"}'},
        {"id": "8", "event": "work_order.closed", "data": '{"id":8}'},
    ]


def test_sign_in_offers_only_the_persons_own_stores_and_signing_out_ends_it(
    tab: Page, served: Served
) -> None:
    p = tab.page
    p.goto(f"{served.base}/dashboard/")
    p.wait_for_selector("#signin:not([hidden])", timeout=WAIT_MS)
    tab.log_in("manager-a", "not-the-password")
    p.wait_for_selector("#signin-error:not([hidden])", timeout=WAIT_MS)
    assert p.inner_text("#signin-error") == "Wrong user name or password."
    tab.shot("sign-in-refused")
    tab.log_in("manager-a")
    tab.ready("store")
    assert p.is_hidden("#signin")
    assert p.eval_on_selector_all("#site option", "os => os.map(o => o.value)") == ["store-a"]
    assert "manager-a" in p.inner_text("#who")
    p.click("nav a[data-view='alerts']")
    tab.ready("alerts")
    shown = {int(x) for x in p.eval_on_selector_all(".alert-card", "cs => cs.map(c => c.dataset.id)")}
    assert shown == set(served.made["store-a"]["alerts"])
    tab.shot("signed-in")
    # a token the API does not accept (revoked, or signed with another key): back to the form
    p.evaluate(
        "() => { const s = JSON.parse(sessionStorage.getItem('bohsense.session'));"
        " s.access_token = 'x' + s.access_token; sessionStorage.setItem('bohsense.session', JSON.stringify(s)); }"
    )
    p.reload()
    p.wait_for_selector("#signin:not([hidden])", timeout=WAIT_MS)
    assert p.is_visible("#signin-error")
    tab.log_in("manager-a")
    tab.ready("alerts")
    p.click("#signout")
    p.wait_for_selector("#signin:not([hidden])", timeout=WAIT_MS)
    assert p.evaluate("() => sessionStorage.getItem('bohsense.session')") is None
    assert p.inner_text("#view") == ""
    tab.check_clean()


def test_without_sign_in_the_dashboard_runs_as_the_local_administrator(
    browser: Any, served: Served, shots: Path
) -> None:
    app, core = build_app(served.database_url, served.tsdb, sign_in=False)
    context = browser.new_context(viewport={"width": 1180, "height": 820}, locale="en-US")
    try:
        with serving(app, free_port()) as base:
            tab = Page(context.new_page(), base, shots, sign_in=False)
            tab.open("store")
            assert tab.page.is_hidden("#signin")
            assert tab.page.inner_text("#who") == "Local administrator · Administrator"
            assert tab.page.is_hidden("#signout")
            sites = tab.page.eval_on_selector_all("#site option", "os => os.map(o => o.value)")
            assert sites == ["store-a", "store-b"]
            tab.shot("open-local-admin")
            tab.check_clean()
    finally:
        context.close()
        core.close()


def test_an_expired_access_token_is_renewed_once_and_the_call_repeated(tab: Page, served: Served) -> None:
    p = tab.page
    tab.open("alerts", "tech-a")
    expired = {"type": "https://bohsense.dev/problems/token-expired", "title": "Token expired", "status": 401}
    answered: list[str] = []

    def expire_once(route: Any) -> None:
        if answered:
            route.continue_()
            return
        answered.append(route.request.url)
        route.fulfill(status=401, content_type="application/problem+json", body=json.dumps(expired))

    renewals: list[str] = []
    p.on(
        "request",
        lambda r: renewals.append(r.post_data or "") if r.url.endswith("/api/v1/auth/token") else None,
    )
    p.route("**/api/v1/alerts?*", expire_once)
    before = p.get_attribute("#view", "data-ready")
    p.check("#alerts-resolved")
    p.wait_for_function(
        "b => document.getElementById('view').dataset.ready !== b", arg=before, timeout=WAIT_MS
    )
    assert answered, "the alerts were not asked for"
    assert [r for r in renewals if "grant_type=refresh_token" in r], renewals
    assert p.is_hidden("#signin")
    assert p.locator(".alert-card").count() >= 1
    tab.check_clean()
