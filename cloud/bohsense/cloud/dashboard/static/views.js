// The views. Each takes the context (site, sites, person, helpers) and returns the
// element to show; it reads the API afresh every time, so a live event only has to ask
// for the view again. What a person typed (a quantity, an assignee, a note) is kept in
// `drafts` across those re-renders.

import { V1, call, list, query } from "./api.js";
import { chart, h } from "./dom.js";
import { fmtDuration, fmtNumber, fmtTime, has, t } from "./i18n.js";

const H_NS = 3600 * 1e9;
export const drafts = new Map();

function draft(key, fallback) {
  return drafts.has(key) ? drafts.get(key) : fallback;
}

function keep(key) {
  return (e) => drafts.set(key, e.target.value);
}

function label(prefix, value) {
  const key = `${prefix}.${value}`;
  return has(key) ? t(key) : String(value);
}

function badge(prefix, value, extra = "") {
  return h("span", { class: `badge ${prefix}-${value} ${extra}`.trim() }, label(prefix, value));
}

function empty(key) {
  return h("p", { class: "empty" }, t(key));
}

function button(key, onclick, attrs = {}) {
  return h("button", { type: "button", ...attrs, onclick }, t(key));
}

/** Run an action; its failure is shown as the API's problem detail. */
async function act(ctx, fn, doneKey) {
  try {
    await fn();
    if (doneKey) ctx.toast(t(doneKey));
  } catch (err) {
    ctx.toast(t("error.action", { detail: err.message }), true);
  }
  await ctx.refresh();
}

/** A part of a view the caller's role may not read (403): null, and the view says so. */
async function unless403(promise) {
  try {
    return await promise;
  } catch (err) {
    if (err && err.status === 403) return null;
    throw err;
  }
}

function isoHoursAgo(hours) {
  const d = new Date();
  d.setMinutes(0, 0, 0);
  return new Date(d.getTime() - hours * 3600 * 1000).toISOString();
}

// ---------------------------------------------------------------------------- store

function levelOf(row) {
  return row.level || "unknown";
}

function shelfRow(row) {
  const flags = [];
  if (row.level === "out_of_stock") flags.push(badge("flag", "out_of_stock", "bad"));
  if (row.level === "low") flags.push(badge("flag", "low", "warn"));
  if (!row.trusted) flags.push(h("span", { class: "badge flag-untrusted warn", title: row.reason }, t("flag.untrusted")));
  if (row.book_minus_sensed !== null && row.book_minus_sensed > 0)
    flags.push(
      h("span", { class: "badge flag-phantom warn" }, t("flag.phantom", { n: fmtNumber(row.book_minus_sensed, 0) })),
    );
  if (row.disagreement) flags.push(badge("flag", "disagreement", "warn"));
  return h(
    "tr",
    { class: "lane-row", dataset: { level: levelOf(row), sku: row.sku, location: row.location } },
    h("td", {}, row.sku),
    h("td", {}, row.location),
    h("td", { class: "num units" }, row.units === null ? "—" : fmtNumber(row.units, 0)),
    h("td", {}, badge("level", levelOf(row))),
    h("td", {}, label("source", row.source || "none"), " · ", fmtNumber((row.confidence || 0) * 100, 0), "%"),
    h("td", { class: "num" }, row.book_units === null ? "—" : fmtNumber(row.book_units, 0)),
    h("td", { class: "flags" }, flags),
  );
}

export async function storeView(ctx) {
  const [rows, cells] = await Promise.all([
    list(`stock/sensed${query({ site: ctx.site, limit: 1000 })}`),
    unless403(list(`stock/heatmap${query({ site: ctx.site, since: isoHoursAgo(23), until: isoHoursAgo(-1), limit: 1000 })}`)),
  ]);
  const count = (lvl) => rows.filter((r) => r.level === lvl).length;
  const shelves = new Map();
  for (const r of rows) {
    const key = r.aisle || r.shelf ? `${r.aisle} / ${r.shelf}` : r.location;
    if (!shelves.has(key)) shelves.set(key, []);
    shelves.get(key).push(r);
  }
  const head = h(
    "tr",
    {},
    ["col.sku", "col.location", "col.units", "col.level", "col.source", "col.book", "col.flags"].map((k) =>
      h("th", {}, t(k)),
    ),
  );
  const heat = h("div", { id: "heatmap", class: "chart" });
  const view = h(
    "div",
    { class: "store" },
    h("h1", {}, t("store.title")),
    h(
      "div",
      { class: "kpis" },
      kpi("store.locations", rows.length),
      kpi("store.outOfStock", count("out_of_stock"), "bad"),
      kpi("store.low", count("low"), "warn"),
      kpi("store.untrusted", count("untrusted"), "warn"),
    ),
    rows.length === 0 ? empty("store.none") : null,
    [...shelves].map(([name, lanes]) =>
      h(
        "section",
        { class: "card shelf", dataset: { shelf: name } },
        h("h2", {}, t("store.shelf", { name })),
        h("div", { class: "scroll" }, h("table", {}, h("thead", {}, head.cloneNode(true)), h("tbody", {}, lanes.map(shelfRow)))),
      ),
    ),
    h("section", { class: "card" }, h("h2", {}, t("store.heatmap")), h("p", { class: "hint" }, t("store.heatmapHint")),
      cells === null ? empty("error.role") : heat,
      cells !== null && cells.length === 0 ? empty("store.heatmapNone") : null),
  );
  if (cells !== null) ctx.afterRender(() => heatmap(heat, cells));
  return view;
}

function kpi(key, value, tone = "") {
  return h("div", { class: `kpi ${tone}`, dataset: { kpi: key } }, h("span", { class: "kpi-n" }, fmtNumber(value, 1)), h("span", {}, t(key)));
}

function heatmap(el, cells) {
  const since = Date.parse(isoHoursAgo(23));
  const hours = Array.from({ length: 24 }, (_, i) => since + i * 3600 * 1000);
  const hourLabel = new Intl.DateTimeFormat(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
  const shelves = [...new Set(cells.map((c) => `${c.aisle} / ${c.shelf}`))].sort();
  const data = cells.map((c) => {
    const x = Math.round((Number(c.hour_ns) / 1e6 - since) / 3600000);
    return [x, shelves.indexOf(`${c.aisle} / ${c.shelf}`), Math.round(c.oos_minutes)];
  }).filter((d) => d[0] >= 0 && d[0] < 24);
  el.dataset.cells = String(data.length);
  chart(el, {
    grid: { left: 110, right: 20, top: 10, bottom: 70 },
    tooltip: { renderMode: "richText", formatter: (p) => t("store.heatCell", { shelf: shelves[p.value[1]], hour: hourLabel.format(hours[p.value[0]]), n: p.value[2] }) },
    xAxis: { type: "category", data: hours.map((x) => hourLabel.format(x)), splitArea: { show: true } },
    yAxis: { type: "category", data: shelves.length ? shelves : [""], splitArea: { show: true } },
    visualMap: { min: 0, max: 60, calculable: false, orient: "horizontal", left: "center", bottom: 0, text: [t("unit.min60"), "0"], inRange: { color: ["#f4f1de", "#e07a5f", "#9b2226"] } },
    series: [{ type: "heatmap", data, label: { show: false } }],
  });
}

// ---------------------------------------------------------------------------- assets

const SEVERITY_RANK = { info: 1, warning: 2, major: 3, critical: 4 };

export async function assetsView(ctx) {
  const [assets, alerts] = await Promise.all([
    list(`catalog/assets${query({ site: ctx.site, limit: 1000 })}`),
    list(`alerts${query({ site: ctx.site, open: "true", limit: 1000 })}`),
  ]);
  const worst = new Map();
  for (const a of alerts) {
    if (!a.asset_id) continue;
    const prev = worst.get(a.asset_id);
    if (!prev || SEVERITY_RANK[a.severity] > SEVERITY_RANK[prev.severity]) worst.set(a.asset_id, a);
  }
  const selected = draft("asset", assets.length ? assets[0].id : null);
  const trend = h("div", { id: "trend", class: "chart" });
  const spectrum = h("div", { id: "spectrum", class: "chart" });
  const health = selected ? await call(`assets/${encodeURIComponent(selected)}/health`) : null;
  const view = h(
    "div",
    { class: "assets" },
    h("h1", {}, t("assets.title")),
    assets.length === 0 ? empty("assets.none") : null,
    h(
      "div",
      { class: "grid" },
      assets.map((a) => {
        const w = worst.get(a.id);
        const health = w ? w.severity : "ok";
        return h(
          "button",
          {
            type: "button",
            class: `card asset ${a.id === selected ? "selected" : ""}`,
            dataset: { id: a.id, health },
            onclick: () => {
              drafts.set("asset", a.id);
              ctx.refresh();
            },
          },
          h("strong", {}, a.name || a.id),
          h("span", { class: "muted" }, `${a.id} · ${label("kind", a.kind)}`),
          badge("health", health),
          w ? h("span", {}, label("condition", w.condition)) : null,
        );
      }),
    ),
    selected
      ? h(
          "section",
          { class: "card" },
          h("h2", {}, t("assets.trend", { asset: selected })),
          h("p", { class: "hint" }, t("assets.trendHint")),
          trend,
        )
      : null,
    selected ? healthPanel(health, spectrum) : null,
  );
  const asset = assets.find((a) => a.id === selected);
  if (asset) ctx.afterRender(() => trends(trend, asset));
  if (health && health.spectrum) ctx.afterRender(() => spectrumChart(spectrum, health.spectrum));
  return view;
}

// the asset's health as the API computes it: its detector score, state and spectrum
function healthPanel(health, spectrum) {
  if (!health) return null;
  const sp = health.spectrum;
  spectrum.dataset.kind = sp ? sp.kind : "none";
  if (!sp) spectrum.classList.remove("chart"); // nothing to draw: no empty chart area
  return h(
    "section",
    { class: "card", id: "asset-health", dataset: { state: health.state } },
    h("h2", {}, t("assets.health", { asset: health.asset_id })),
    h(
      "div",
      { class: "kpis" },
      h("div", { class: "kpi", dataset: { kpi: "score" } }, h("span", { class: "kpi-n" }, fmtNumber(health.score, 2)), h("span", {}, t("assets.score"))),
      h("div", { class: "kpi", dataset: { kpi: "threshold" } }, h("span", { class: "kpi-n" }, fmtNumber(health.threshold, 2)), h("span", {}, t("assets.threshold"))),
      h("div", { class: "kpi", dataset: { kpi: "openAlerts" } }, h("span", { class: "kpi-n" }, String(health.open_alerts)), h("span", {}, t("assets.openAlerts"))),
    ),
    badge("assetstate", health.state),
    h("p", { class: "hint" }, health.score_ns ? t("assets.scoreAt", { at: fmtTime(health.score_ns) }) : t("assets.noScore")),
    h("h3", {}, t("assets.spectrum")),
    h("p", { class: "hint" }, sp ? (sp.kind === "fft" ? t("assets.spectrumFft", { at: fmtTime(sp.at_ns), source: sp.source }) : t("assets.spectrumEnvelope", { at: fmtTime(sp.at_ns), source: sp.source })) : t("assets.noSpectrumData")),
    spectrum,
  );
}

function spectrumChart(el, sp) {
  const envelope = sp.kind === "envelope";
  const x = envelope ? sp.labels.map((m) => label("metric", m)) : sp.frequency_hz;
  el.dataset.points = String(sp.amplitude.length);
  chart(el, {
    grid: { left: 60, right: 20, top: 20, bottom: 50 },
    tooltip: { trigger: "axis", renderMode: "richText" },
    xAxis: envelope
      ? { type: "category", data: x }
      : { type: "value", name: t("assets.hz"), nameLocation: "middle", nameGap: 28 },
    yAxis: { type: "value", name: envelope ? t("assets.featureValue") : t("assets.amplitude") },
    series: [{ type: "line", showSymbol: envelope, data: envelope ? sp.amplitude : sp.frequency_hz.map((f, i) => [f, sp.amplitude[i]]) }],
  });
}

async function trends(el, asset) {
  const end = new Date();
  const start = new Date(end.getTime() - 6 * 3600 * 1000);
  const series = [];
  for (const s of asset.sensors || []) {
    const latest = await list(`readings/latest${query({ gateway: s.gateway, device: s.device, limit: 50 })}`);
    for (const p of latest.slice(0, 4)) {
      const got = await call(
        `readings/series${query({ gateway: s.gateway, device: s.device, metric: p.metric, start: start.toISOString(), end: end.toISOString(), every: 120 })}`,
      );
      series.push({
        name: label("metric", p.metric),
        type: "line",
        showSymbol: false,
        data: got.points.map(([ts, v]) => [Number(ts) / 1e6, v]),
      });
    }
  }
  el.dataset.series = String(series.length);
  if (!series.length) {
    el.replaceChildren(empty("assets.noReadings"));
    return;
  }
  chart(el, {
    grid: { left: 50, right: 20, top: 40, bottom: 40 },
    legend: { top: 0 },
    tooltip: { trigger: "axis", renderMode: "richText" },
    xAxis: { type: "time" },
    yAxis: { type: "value", scale: true },
    series,
  });
}

// ---------------------------------------------------------------------------- alerts

export async function alertsView(ctx) {
  const showResolved = draft("alerts.resolved", false);
  const rows = await list(`alerts${query({ site: ctx.site, open: showResolved ? undefined : "true", limit: 200 })}`, { pages: 2 });
  return h(
    "div",
    { class: "alerts" },
    h("h1", {}, t("alerts.title")),
    h(
      "label",
      { class: "toggle" },
      h("input", {
        type: "checkbox",
        id: "alerts-resolved",
        checked: showResolved,
        onchange: (e) => {
          drafts.set("alerts.resolved", e.target.checked);
          ctx.refresh();
        },
      }),
      t("alerts.showResolved"),
    ),
    rows.length === 0 ? empty("alerts.none") : null,
    h("div", { class: "list" }, rows.map((a) => alertCard(ctx, a))),
  );
}

function evidenceLine(ev) {
  if (!ev || typeof ev !== "object") return null;
  const bits = [];
  for (const k of ["metric", "value", "limit", "diagnosis", "fault"]) {
    if (ev[k] !== undefined && ev[k] !== null && typeof ev[k] !== "object")
      bits.push(`${label("evidence", k)}: ${typeof ev[k] === "number" ? fmtNumber(ev[k], 2) : ev[k]}`);
  }
  return bits.length ? h("p", { class: "muted evidence" }, bits.join(" · ")) : null;
}

function alertCard(ctx, a) {
  const noteKey = `alert.note.${a.id}`;
  const note = h("input", {
    class: "note",
    value: draft(noteKey, ""),
    oninput: keep(noteKey),
    "aria-label": t("alerts.note"),
    placeholder: t("alerts.note"),
  });
  const body = () => ({ note: note.value });
  const actions = [];
  if (ctx.can("alerts") && a.state === "open")
    actions.push(
      button("alerts.acknowledge", () => act(ctx, () => call(`alerts/${a.id}/acknowledge`, { method: "POST", body: body() }), "alerts.acknowledged"), { class: "primary ack" }),
    );
  if (ctx.can("alerts") && (a.state === "open" || a.state === "acknowledged"))
    actions.push(
      button("alerts.resolve", () => act(ctx, () => call(`alerts/${a.id}/resolve`, { method: "POST", body: body() }), "alerts.resolved"), { class: "resolve" }),
    );
  return h(
    "article",
    { class: `card alert-card sev-${a.severity}`, dataset: { id: a.id, state: a.state } },
    h(
      "header",
      {},
      badge("severity", a.severity),
      h("strong", {}, label("condition", a.condition)),
      badge("state", a.state, "state"),
    ),
    h("p", {}, t("alerts.on", { asset: a.asset_id || a.subject, opened: fmtTime(a.opened_ns) })),
    a.what_to_check ? h("p", {}, h("span", { class: "muted" }, t("alerts.check")), " ", a.what_to_check) : null,
    evidenceLine(a.evidence),
    a.escalation_level ? h("p", { class: "warn-text" }, t("alerts.escalated", { n: a.escalation_level })) : null,
    actions.length ? h("div", { class: "actions" }, note, actions) : null,
  );
}

// ---------------------------------------------------------------------------- work orders

const RESOLUTION_CODES = ["repaired", "replaced_part", "fault_confirmed", "no_fault_found"];
const BOARD = ["open", "in_progress", "done", "closed"];

export async function workOrdersView(ctx) {
  const rows = await list(`work-orders${query({ site: ctx.site, limit: 200 })}`, { pages: 2 });
  return h(
    "div",
    { class: "workorders" },
    h("h1", {}, t("wo.title")),
    h(
      "div",
      { class: "board" },
      BOARD.map((state) => {
        const here = rows.filter((w) => w.state === state).slice(0, state === "closed" ? 10 : 200);
        return h(
          "section",
          { class: "column", dataset: { state } },
          h("h2", {}, label("state", state), h("span", { class: "count" }, String(here.length))),
          here.length === 0 ? empty("wo.none") : null,
          here.map((w) => woCard(ctx, w)),
        );
      }),
    ),
  );
}

function transition(id, to) {
  return call(`work-orders/${id}/transition`, { method: "POST", body: { to } });
}

function woCard(ctx, w) {
  const actions = [];
  const may = ctx.can("workorders");
  const assigneeKey = `wo.assignee.${w.id}`;
  const codeKey = `wo.code.${w.id}`;
  if (may && (w.state === "open" || w.state === "in_progress")) {
    const who = h("input", { class: "assignee", value: draft(assigneeKey, w.assignee), oninput: keep(assigneeKey), "aria-label": t("wo.assignee"), placeholder: t("wo.assignee") });
    actions.push(
      h("div", { class: "row" }, who,
        button("wo.assign", () => act(ctx, () => call(`work-orders/${w.id}`, { method: "PATCH", body: { assignee: who.value } }), "wo.assigned"), { dataset: { action: "assign" } })),
    );
  }
  if (may && w.state === "open")
    actions.push(button("wo.start", () => act(ctx, () => transition(w.id, "in_progress"), "wo.started"), { class: "primary", dataset: { action: "start" } }));
  if (may && (w.state === "in_progress" || w.state === "done")) {
    const code = h(
      "select",
      { class: "resolution", onchange: keep(codeKey), "aria-label": t("wo.resolution") },
      h("option", { value: "" }, t("wo.pickResolution")),
      RESOLUTION_CODES.map((c) => h("option", { value: c, selected: draft(codeKey, w.resolution_code) === c }, label("resolution", c))),
    );
    const close = async () => {
      if (!code.value) throw new Error(t("wo.needResolution"));
      await call(`work-orders/${w.id}`, { method: "PATCH", body: { resolution_code: code.value } });
      if (w.state === "in_progress") await transition(w.id, "done");
      await transition(w.id, "closed");
      drafts.delete(codeKey);
    };
    actions.push(h("div", { class: "row" }, code, button("wo.close", () => act(ctx, close, "wo.closed"), { class: "primary", dataset: { action: "close" } })));
  }
  return h(
    "article",
    { class: `card wo-card prio-${w.priority}`, dataset: { id: w.id, state: w.state } },
    h("header", {}, h("strong", {}, w.title), badge("priority", w.priority)),
    h("p", { class: "muted" }, `#${w.id} · ${w.asset_id} · ${fmtTime(w.created_ns)}`),
    w.assignee ? h("p", {}, t("wo.assignedTo", { who: w.assignee })) : null,
    w.resolution_code ? h("p", {}, t("wo.resolvedAs", { code: label("resolution", w.resolution_code) })) : null,
    (w.checks || []).length ? h("ul", { class: "checks" }, w.checks.slice(0, 4).map((c) => h("li", {}, c))) : null,
    actions,
  );
}

// ---------------------------------------------------------------------------- replenishment

export async function replenishmentView(ctx) {
  const rows = (await list(`replenishment${query({ site: ctx.site, limit: 200 })}`, { pages: 2 })).filter((p) =>
    ["proposed", "approved", "ordered"].includes(p.state),
  );
  return h(
    "div",
    { class: "proposals" },
    h("h1", {}, t("rep.title")),
    rows.length === 0 ? empty("rep.none") : null,
    h("div", { class: "list" }, rows.map((p) => proposalCard(ctx, p))),
  );
}

function explanationRows(ex) {
  const rows = [];
  for (const [k, v] of Object.entries(ex || {})) {
    if (k === "text" || k === "rule_text") continue; // the sentence is shown above the table
    let shown;
    if (v === null || v === undefined) shown = "—";
    else if (k.endsWith("_ns") && typeof v === "number") shown = fmtTime(v);
    else if (v !== null && typeof v === "object") shown = JSON.stringify(v);
    else shown = typeof v === "number" ? fmtNumber(v, 2) : String(v);
    rows.push(h("tr", { dataset: { key: k } }, h("th", {}, label("explain", k)), h("td", { class: "num" }, shown)));
  }
  return rows;
}

function proposalCard(ctx, p) {
  const qtyKey = `rep.qty.${p.id}`;
  const editable = ctx.can("replenishment") && (p.state === "proposed" || p.state === "approved");
  const qty = h("input", {
    class: "quantity",
    type: "number",
    inputmode: "numeric",
    min: p.pack_size,
    step: p.pack_size,
    value: draft(qtyKey, p.quantity),
    oninput: keep(qtyKey),
    disabled: !editable,
    "aria-label": t("rep.quantity"),
  });
  const wanted = () => Number(qty.value);
  const done = () => drafts.delete(qtyKey);
  const actions = [];
  if (editable)
    actions.push(
      button("rep.save", () => act(ctx, async () => { await call(`replenishment/${p.id}`, { method: "PATCH", body: { quantity: wanted() } }); done(); }, "rep.saved"), { class: "save-qty" }),
    );
  if (editable && p.state === "proposed")
    actions.push(
      button("rep.approve", () => act(ctx, async () => {
        const body = wanted() !== p.quantity ? { quantity: wanted() } : {};
        await call(`replenishment/${p.id}/approve`, { method: "POST", body });
        done();
      }, "rep.approved"), { class: "primary approve" }),
    );
  if (editable)
    actions.push(button("rep.reject", () => act(ctx, async () => { await call(`replenishment/${p.id}/reject`, { method: "POST", body: {} }); done(); }, "rep.rejected"), { class: "danger reject" }));
  return h(
    "article",
    { class: `card proposal prio-${p.priority}`, dataset: { id: p.id, state: p.state } },
    h("header", {}, h("strong", {}, `${p.sku} · ${p.location}`), badge("state", p.state, "state"), p.priority === "urgent" ? badge("priority", "urgent") : null),
    h("p", { class: "muted" }, t("rep.summary", { sensed: fmtNumber(p.sensed_units, 0), rop: fmtNumber(p.reorder_point, 0), target: fmtNumber(p.target, 0), pack: p.pack_size })),
    p.explanation && p.explanation.text ? h("p", { class: "why" }, p.explanation.text) : null,
    (p.flags || []).map((f) => h("p", { class: "warn-text flag" }, t("rep.flag", { reason: f.reason || f.kind || JSON.stringify(f) }))),
    h("details", { class: "explanation", open: true }, h("summary", {}, t("rep.explanation")), h("table", {}, h("tbody", {}, explanationRows(p.explanation)))),
    h("div", { class: "actions" }, h("label", { class: "qty" }, h("span", {}, t("rep.quantity")), qty, h("span", { class: "muted" }, t("rep.packs", { n: fmtNumber(wanted() / p.pack_size, 2) }))), actions),
  );
}

// ---------------------------------------------------------------------------- fleet

export async function fleetView(ctx) {
  const since = isoHoursAgo(24);
  const until = new Date().toISOString();
  const [gateways, open, orders, kpis] = await Promise.all([
    list(`gateways${query({ limit: 1000 })}`),
    list(`alerts${query({ open: "true", limit: 1000 })}`),
    list(`work-orders${query({ limit: 1000 })}`, { pages: 2 }),
    call(`fleet/kpis${query({ since, until })}`),
  ]);
  const bySite = new Map(kpis.stores.map((k) => [k.site, k]));
  const rows = ctx.sites.map((s) => {
    const of = (xs) => xs.filter((x) => x.site === s.id);
    const gw = of(gateways);
    const k = bySite.get(s.id) || {};
    return {
      site: s,
      online: gw.filter((g) => g.state === "online").length,
      gateways: gw.length,
      open: of(open).length,
      critical: of(open).filter((a) => a.severity === "critical" || a.severity === "major").length,
      orders: of(orders).filter((w) => ["open", "in_progress", "done"].includes(w.state)).length,
      opened: k.alerts_opened ?? null,
      mttr: k.mttr_s ?? null,
      mtbf: k.mtbf_s ?? null,
      inStock: k.in_stock_rate ?? null,
      oosHours: k.out_of_stock_hours ?? null,
      lost: k.lost_sales_units ?? null,
    };
  });
  const cols = ["col.store", "fleet.gateways", "fleet.openAlerts", "fleet.majorAlerts", "fleet.openOrders", "fleet.alertsOpened", "fleet.mttr", "fleet.mtbf", "fleet.inStock", "fleet.oosHours", "fleet.lost"];
  return h(
    "div",
    { class: "fleet" },
    h("h1", {}, t("fleet.title")),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { id: "fleet-table" },
        h("thead", {}, h("tr", {}, cols.map((k) => h("th", {}, t(k))))),
        h(
          "tbody",
          {},
          rows.map((r) =>
            h(
              "tr",
              { dataset: { site: r.site.id } },
              h("td", {}, h("strong", {}, r.site.name || r.site.id), h("br"), h("span", { class: "muted" }, r.site.id)),
              h("td", { class: "num" }, `${r.online} / ${r.gateways}`),
              h("td", { class: "num", dataset: { k: "open" } }, String(r.open)),
              h("td", { class: "num" }, String(r.critical)),
              h("td", { class: "num" }, String(r.orders)),
              h("td", { class: "num", dataset: { k: "opened" } }, fmtNumber(r.opened, 0)),
              h("td", { class: "num", dataset: { k: "mttr" } }, fmtDuration(r.mttr)),
              h("td", { class: "num", dataset: { k: "mtbf" } }, fmtDuration(r.mtbf)),
              h("td", { class: "num", dataset: { k: "inStock" } }, r.inStock === null ? "—" : `${fmtNumber(r.inStock * 100, 1)}%`),
              h("td", { class: "num", dataset: { k: "oosHours" } }, fmtNumber(r.oosHours, 1)),
              h("td", { class: "num", dataset: { k: "lost" } }, fmtNumber(r.lost, 1)),
            ),
          ),
        ),
      ),
    ),
    h("p", { class: "hint" }, t("fleet.kpisHint")),
  );
}

export const VIEWS = {
  store: storeView,
  assets: assetsView,
  alerts: alertsView,
  workorders: workOrdersView,
  replenishment: replenishmentView,
  fleet: fleetView,
};

/** Which views' data an entity's change touches. */
export const TOUCHES = {
  alert: ["alerts", "assets", "fleet", "workorders"],
  work_order: ["workorders", "fleet", "alerts"],
  replenishment_proposal: ["replenishment", "store"],
  stock: ["store", "fleet", "replenishment"],
  stock_outage: ["store", "fleet"],
};

export { V1 };
