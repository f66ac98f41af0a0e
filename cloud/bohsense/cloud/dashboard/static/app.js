// The dashboard's composition root: language, sign-in, the caller's stores, the views
// (#/<view>), and the live feed that re-reads the view on every change it touches.

import * as api from "./api.js";
import { h, disposeCharts } from "./dom.js";
import { Feed } from "./feed.js";
import { apply, language, load, pickLanguage, t } from "./i18n.js";
import { TOUCHES, VIEWS, drafts } from "./views.js";

/** The views each role starts on and sees first; everyone may open every view. */
const ROLE_VIEWS = {
  technician: ["alerts", "workorders", "assets", "store"],
  store_manager: ["store", "replenishment", "alerts", "workorders", "assets"],
  planner: ["replenishment", "store"],
  hq: ["fleet", "assets", "store", "alerts", "workorders", "replenishment"],
  admin: ["store", "alerts", "workorders", "replenishment", "assets", "fleet"],
};
/** Who may act (the API's role policy decides; the page only leaves out buttons it would refuse). */
const CAN = {
  alerts: ["technician", "store_manager", "admin"],
  workorders: ["technician", "store_manager", "admin"],
  replenishment: ["store_manager", "planner", "admin"],
};
const SITE_KEY = "bohsense.site";
const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  sites: [],
  site: null,
  view: null,
  rendering: null,
  again: false,
  timer: null,
  feed: null,
  lastHtml: null,
};

function toast(text, bad = false) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("bad", bad);
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    el.hidden = true;
  }, 4000);
}

function views() {
  return ROLE_VIEWS[state.me.role] || ROLE_VIEWS.admin;
}

function currentView() {
  const name = location.hash.replace(/^#\/?/, "");
  return VIEWS[name] && views().includes(name) ? name : views()[0];
}

function renderNav() {
  const nav = $("nav");
  nav.replaceChildren(
    ...views().map((name) =>
      h("a", { href: `#/${name}`, dataset: { view: name }, class: name === state.view ? "active" : "" }, t(`nav.${name}`)),
    ),
  );
}

function renderChrome() {
  const who = $("who");
  who.textContent = t("auth.who", { name: state.me.name, role: t(`role.${state.me.role}`) });
  $("signout").hidden = !state.me.signedIn;
  const pick = $("site");
  pick.replaceChildren(...state.sites.map((s) => h("option", { value: s.id, selected: s.id === state.site }, s.name ? `${s.name} (${s.id})` : s.id)));
  $("site-pick").hidden = state.view === "fleet" || state.sites.length === 0;
  renderNav();
}

/** Re-read and redraw the current view (one at a time; a request meanwhile runs once after). */
async function refresh() {
  if (!state.me) return;
  if (state.rendering) {
    state.again = true;
    return state.rendering;
  }
  state.rendering = (async () => {
    do {
      state.again = false;
      await renderOnce();
    } while (state.again);
  })();
  try {
    await state.rendering;
  } finally {
    state.rendering = null;
  }
}

async function renderOnce() {
  state.view = currentView();
  renderChrome();
  const target = $("view");
  const focused = document.activeElement;
  const focusKey = focused && focused.closest("[data-id]") ? [focused.closest("[data-id]").dataset.id, focused.className] : null;
  const after = [];
  const ctx = {
    site: state.site,
    sites: state.sites,
    me: state.me,
    toast,
    refresh,
    afterRender: (fn) => after.push(fn),
    can: (what) => (CAN[what] || []).includes(state.me.role),
  };
  let content;
  if (!state.site && state.view !== "fleet") content = h("p", { class: "empty" }, t("site.none"));
  else {
    try {
      content = await VIEWS[state.view](ctx);
    } catch (err) {
      if (err && err.status === 401) return;
      content = h("p", { class: "error" }, t("error.load", { detail: err.message }));
    }
  }
  // re-read with nothing changed (a periodic re-read, an event of another view): keep the page
  const html = content.outerHTML;
  if (html === state.lastHtml && target.dataset.view === state.view && target.dataset.site === (state.site || "")) return;
  state.lastHtml = html;
  disposeCharts();
  target.replaceChildren(content);
  target.dataset.view = state.view;
  target.dataset.site = state.site || "";
  target.dataset.ready = String(Date.now());
  for (const fn of after) Promise.resolve().then(fn).catch((err) => toast(t("error.load", { detail: err.message }), true));
  if (focusKey) {
    const card = target.querySelector(`[data-id="${CSS.escape(focusKey[0])}"]`);
    const again = card && focusKey[1] ? card.querySelector(`.${focusKey[1].split(" ")[0]}`) : null;
    if (again) again.focus();
  }
}

function scheduleRefresh(ev) {
  if (!ev) {
    refresh();
    return;
  }
  const entity = ev && (ev.entity || String(ev.kind || "").split(".")[0]);
  const touched = TOUCHES[entity];
  if (touched && !touched.includes(state.view)) return;
  if (ev && ev.site && state.site && ev.site !== state.site && state.view !== "fleet") return;
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, 50);
}

function setLive(s) {
  const el = $("live");
  el.dataset.state = s;
  el.textContent = t(`live.${s}`);
}

async function loadSites() {
  const all = await api.list("catalog/sites?limit=1000");
  const mine = state.me.sites;
  state.sites = Array.isArray(mine) ? all.filter((s) => mine.includes(s.id)) : all;
  const stored = localStorage.getItem(SITE_KEY);
  state.site = state.sites.some((s) => s.id === stored) ? stored : state.sites.length ? state.sites[0].id : null;
}

function showSignIn(problem) {
  state.me = null;
  state.lastHtml = null;
  if (state.feed) state.feed.stop();
  $("view").replaceChildren();
  $("nav").replaceChildren();
  $("who").textContent = "";
  $("signout").hidden = true;
  $("site-pick").hidden = true;
  $("signin").hidden = false;
  const err = $("signin-error");
  const expired = problem && /token-expired|token-invalid|key-revoked/.test(String(problem.type || ""));
  err.hidden = !expired;
  if (expired) err.textContent = t("auth.expired");
  const user = document.querySelector("#signin-form [name=username]");
  if (user) user.focus();
}

async function start() {
  let who;
  try {
    who = await api.me();
  } catch (err) {
    if (err.status === 401) return; // the sign-in form is up
    throw err;
  }
  // no sign-in route (404), or an open API answering for its local administrator
  const open = !who || who.via === "open";
  state.me = open
    ? { name: t("auth.local"), role: (who && who.role) || "admin", sites: (who && who.sites) ?? null, signedIn: false }
    : { name: who.name, role: who.role, sites: who.sites ?? null, signedIn: api.hasSession(), language: who.language };
  $("signin").hidden = true;
  if (who && who.language && !localStorage.getItem("bohsense.lang") && who.language !== language()) {
    await load(String(who.language).toLowerCase().startsWith("zh") ? "zh-CN" : "en");
    $("lang").value = language();
  }
  await loadSites();
  await refresh();
  state.feed = state.feed || new Feed(scheduleRefresh, setLive);
  state.feed.start(state.view === "fleet" ? null : state.site);
}

function wire() {
  api.setSignedOutHandler(showSignIn);
  $("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    const err = $("signin-error");
    err.hidden = true;
    try {
      await api.signIn(String(form.get("username")), String(form.get("password")));
      e.target.reset();
      await start();
    } catch (ex) {
      err.textContent = ex.status === 429 ? t("auth.tooMany") : ex.status === 401 || ex.status === 400 ? t("auth.wrong") : t("error.action", { detail: ex.message });
      err.hidden = false;
    }
  });
  $("signout").addEventListener("click", async () => {
    await api.signOut();
    drafts.clear();
    showSignIn(null);
  });
  $("site").addEventListener("change", (e) => {
    state.site = e.target.value;
    localStorage.setItem(SITE_KEY, state.site);
    drafts.clear();
    if (state.feed) state.feed.start(state.site);
    refresh();
  });
  $("lang").addEventListener("change", async (e) => {
    await load(e.target.value, { remember: true });
    setLive($("live").dataset.state);
    if (state.me) {
      if (!state.me.signedIn) state.me.name = t("auth.local");
      await refresh();
    }
  });
  window.addEventListener("hashchange", () => {
    const before = state.view;
    refresh().then(() => {
      if (state.feed && (before === "fleet") !== (state.view === "fleet")) state.feed.start(state.view === "fleet" ? null : state.site);
    });
  });
}

async function boot() {
  const lang = pickLanguage();
  await load(lang);
  $("lang").value = lang;
  apply(document);
  setLive("off");
  wire();
  await start();
}

boot().catch((err) => {
  $("view").replaceChildren(h("p", { class: "error" }, t("error.load", { detail: err.message })));
});
