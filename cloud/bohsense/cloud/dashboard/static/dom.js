// Building the page without innerHTML (no markup from data, so nothing a reading or a
// name holds can become script), and the charts.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const charts = new Set();

/** An ECharts chart in `el` (canvas; tooltips drawn on the canvas, so no inline styles). */
export function chart(el, option) {
  if (!window.echarts) return null;
  const c = window.echarts.init(el, null, { renderer: "canvas" });
  c.setOption({ animation: false, tooltip: { renderMode: "richText" }, ...option });
  charts.add(c);
  return c;
}

export function disposeCharts() {
  for (const c of charts) c.dispose();
  charts.clear();
}

window.addEventListener("resize", () => {
  for (const c of charts) c.resize();
});
