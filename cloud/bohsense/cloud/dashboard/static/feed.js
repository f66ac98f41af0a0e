// The live feed: the API's Server-Sent Events read with fetch() (EventSource cannot send
// Authorization), parsed here, resumed with Last-Event-ID after a break, with jittered
// exponential backoff. Where the SSE route answers 404, the domain events are polled from
// /changes?after=N instead, for as long as the page lives; where the caller's role may not
// read /changes either (403), the view itself is re-read every second.

import { V1, send } from "./api.js";

/** how often /changes is asked (a cheap query on an index), and the view re-read without it */
const POLL_MS = 500;
const REREAD_MS = 1000;
const MAX_BACKOFF_MS = 30000;

/** SSE wire format (WHATWG HTML §9.2): feed it text, get whole events back. */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.data = [];
    this.event = "";
    this.id = null;
  }

  push(text) {
    this.buffer += text;
    const out = [];
    let nl;
    while ((nl = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      // a CR at the very end may be the first half of a CRLF: wait for the next chunk
      if (nl === this.buffer.length - 1 && this.buffer[nl] === "\r") break;
      const line = this.buffer.slice(0, nl);
      const size = this.buffer.startsWith("\r\n", nl) ? 2 : 1;
      this.buffer = this.buffer.slice(nl + size);
      if (line === "") {
        if (this.data.length) out.push({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
        this.data = [];
        this.event = "";
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "event") this.event = value;
      else if (field === "id" && !value.includes("\0")) this.id = value;
    }
    return out;
  }
}

export class Feed {
  /** onEvent(domainEvent), onState("live" | "polling" | "reconnecting" | "off") */
  constructor(onEvent, onState) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.site = null;
    this.lastId = null;
    this.after = null;
    this.abort = null;
    this.generation = 0;
    /** "sse", then "changes" where the feed route is missing, then "view" where /changes is refused */
    this.mode = "sse";
  }

  start(site) {
    this.stop();
    this.site = site;
    const gen = ++this.generation;
    this.run(gen);
  }

  stop() {
    this.generation += 1;
    if (this.abort) this.abort.abort();
    this.abort = null;
    this.onState("off");
  }

  alive(gen) {
    return gen === this.generation;
  }

  async run(gen) {
    let backoff = 500;
    while (this.alive(gen)) {
      try {
        if (this.mode === "sse") {
          if ((await this.stream(gen)) === "404") {
            this.mode = "changes";
            continue;
          }
        } else if (this.mode === "changes") {
          if ((await this.poll(gen)) === "403") {
            this.mode = "view";
            continue;
          }
        } else {
          await this.rereadView(gen);
        }
        backoff = 500;
      } catch (err) {
        if (!this.alive(gen) || (err && err.status === 401)) return;
      }
      if (!this.alive(gen)) return;
      this.onState("reconnecting");
      await sleep(backoff * (0.5 + Math.random()));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  async stream(gen) {
    this.abort = new AbortController();
    // no topics: the API sends every topic the caller's role may read
    const q = new URLSearchParams();
    if (this.site) q.set("site", this.site);
    const headers = { Accept: "text/event-stream" };
    if (this.lastId !== null) headers["Last-Event-ID"] = this.lastId;
    const res = await send(`${V1}/feeds/events?${q}`, { headers, signal: this.abort.signal });
    if (res.status === 404) return "404";
    if (!res.ok || !res.body) throw new Error(`feed: HTTP ${res.status}`);
    this.onState("live");
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    while (this.alive(gen)) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.push(value)) {
        if (ev.id !== null) this.lastId = ev.id;
        let data = null;
        try {
          data = JSON.parse(ev.data);
        } catch {
          continue; // a keep-alive or a message that is not a domain event
        }
        if (data && typeof data === "object") this.onEvent({ kind: ev.event, ...data });
      }
    }
    return "closed";
  }

  async rereadView(gen) {
    this.onState("polling");
    while (this.alive(gen)) {
      await sleep(REREAD_MS);
      if (this.alive(gen)) this.onEvent(null);
    }
  }

  async exists(after) {
    const res = await send(`${V1}/changes?after=${after}&limit=1`);
    if (!res.ok) throw new Error(`changes: HTTP ${res.status}`);
    return (await res.json()).events.length > 0;
  }

  /** The newest event id: one page when the history is short; else probe upwards, then
   * bisect (a few dozen tiny requests at most, however long the history). */
  async head() {
    const res = await send(`${V1}/changes?after=0&limit=1000`);
    if (!res.ok) throw new Error(`changes: HTTP ${res.status}`);
    const first = await res.json();
    if (first.events.length < 1000) return first.next_after;
    let lo = first.next_after;
    if (!(await this.exists(lo))) return lo;
    let hi = lo * 2;
    const top = 2 ** 31 - 1;
    while (hi < top && (await this.exists(hi))) {
      lo = hi;
      hi = Math.min(hi * 2, top);
    }
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await this.exists(mid)) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  async poll(gen) {
    if (this.after === null) {
      const probe = await send(`${V1}/changes?after=0&limit=1`);
      if (probe.status === 403) return "403";
      this.after = await this.head();
    }
    this.onState("polling");
    while (this.alive(gen)) {
      const res = await send(`${V1}/changes?after=${this.after}&limit=500`);
      if (!res.ok) throw new Error(`changes: HTTP ${res.status}`);
      const page = await res.json();
      for (const ev of page.events) this.onEvent(ev);
      this.after = page.next_after;
      if (page.events.length < 500) await sleep(POLL_MS);
    }
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
