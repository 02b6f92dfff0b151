// Switchboard wallboard: reads the snapshot stream (Server-Sent Events over
// fetch, so the token travels in the Authorization header, not the URL) and
// draws queues, agents and today's charts. No libraries, nothing fetched
// from elsewhere.
"use strict";

const TOKEN_KEY = "switchboard-admin-token";
let token = null;
let latest = null;      // the last snapshot
let receivedAt = 0;     // performance.now() when it arrived

// The token comes from the URL fragment (#token=..., never sent to the
// server), or was typed in before.
function readToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    token = decodeURIComponent(m[1]);
    localStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname + location.search);
  } else {
    token = localStorage.getItem(TOKEN_KEY);
  }
}

function setStatus(text) {
  const el = document.getElementById("status");
  el.textContent = text;
  el.className = "status " + text;
}

// ----- the stream ------------------------------------------------------

async function connect() {
  let delay = 1000;
  for (;;) {
    try {
      const headers = token ? { Authorization: "Bearer " + token } : {};
      const resp = await fetch("api/wallboard/stream", { headers, cache: "no-store" });
      if (resp.status === 401) {
        setStatus("unauthorized");
        document.getElementById("token-form").hidden = false;
        return; // the form calls connect() again
      }
      if (!resp.ok || !resp.body) throw new Error("HTTP " + resp.status);
      document.getElementById("token-form").hidden = true;
      delay = 1000;
      await readEvents(resp.body, (event, data) => {
        if (event === "snapshot") {
          latest = JSON.parse(data);
          receivedAt = performance.now();
          setStatus("live");
          render();
        }
      });
    } catch (e) {
      console.warn("wallboard stream:", e);
    }
    setStatus("reconnecting");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10000);
  }
}

// text/event-stream: blocks separated by a blank line; `event:` and `data:`
// fields; lines starting with ':' are comments (keep-alives).
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) continue;
        const i = line.indexOf(":");
        const field = i < 0 ? line : line.slice(0, i);
        const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") event = val;
        else if (field === "data") data.push(val);
      }
      if (data.length) onEvent(event, data.join("\n"));
    }
  }
}

// ----- drawing ---------------------------------------------------------

// Seconds elapsed since the snapshot, so times tick between updates.
function elapsed() {
  return latest ? (performance.now() - receivedAt) / 1000 : 0;
}

function duration(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function render() {
  if (!latest) return;
  document.getElementById("date").textContent = `${latest.today.date} (${latest.today.timezone})`;
  renderQueues();
  renderAgents();
  renderCallsChart();
  renderSlChart();
  tick();
}

function renderQueues() {
  const rows = latest.queues.map((q) => {
    const staffed = ["available", "offered", "on-call", "wrap-up"]
      .reduce((n, s) => n + (q.agents[s] || 0), 0);
    const sl = q.service_level.today;
    const slCell = el("td", {
      class: "sl " + (sl === null ? "" : sl >= q.service_level.target ? "good" : "bad"),
    }, sl === null ? "–" : `${Math.round(sl)}%`,
    el("small", {}, ` / ${q.service_level.target}% in ${q.service_level.answered_within_s}s`));
    const st = q.staffing;
    const need = (n) => (n === null || n === undefined ? "–" : String(n));
    const staffCell = el("td", { class: "needed", title: st
      ? `${st.calls} calls in the last hour, ${Math.round(st.aht_s)} s handle time` +
        (st.patience_s ? `, patience ${Math.round(st.patience_s)} s` : "")
      : "no calls handled in the last hour" },
      st ? need(st.erlang_c_agents) : "–",
      el("small", {}, st && st.erlang_a_agents !== null ? ` (A: ${st.erlang_a_agents})` : ""));
    return el("tr", { "data-queue": q.name },
      el("td", { class: "name" }, q.name),
      el("td", { class: "waiting" + (q.waiting ? " busy" : "") }, String(q.waiting)),
      el("td", { class: "ringing" }, String(q.ringing)),
      el("td", { class: "longest" + (q.longest_wait_s > 0 ? " busy" : ""), "data-wait": q.longest_wait_s,
                 "data-live": q.callers.length ? "1" : "0" }, duration(q.longest_wait_s)),
      el("td", { class: "staff" }, `${q.agents.available || 0} / ${staffed}`),
      slCell,
      el("td", {}, String(q.today.offered)),
      el("td", {}, String(q.today.answered)),
      el("td", {}, String(q.today.abandoned)),
      el("td", {}, String(q.today.overflowed)),
      staffCell,
    );
  });
  document.getElementById("queues").replaceChildren(...rows);
}

function nextAfterCall(a) {
  const next = a.after_call;
  if (!next || next.state === "available") return "\u00a0";
  return next.reason ? `then ${next.state}: ${next.reason}` : `then ${next.state}`;
}

function renderAgents() {
  const cards = latest.agents.map((a) => el("div", { class: "agent " + a.state, "data-agent": a.extension },
    el("div", { class: "who" }, el("span", { class: "name" }, a.name || a.extension), el("span", { class: "ext" }, a.extension)),
    el("div", {},
      el("span", { class: "state" }, a.state),
      el("span", { class: "time", "data-since": a.in_state_s }, duration(a.in_state_s))),
    el("div", { class: "reason" }, a.reason ? `reason: ${a.reason}` : a.call ? `call ${a.call}${a.direct ? " (direct)" : ""}` : "\u00a0"),
    // What follows the call when the agent asked for a break or to log out during it.
    el("div", { class: "after" }, nextAfterCall(a)),
  ));
  document.getElementById("agents").replaceChildren(...cards);
}

// Chart width follows the element (so text is not stretched); height is fixed.
let W = 960;
const H = 180, PAD_L = 38, PAD_B = 18, PAD_T = 8;
const SVGNS = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// Hour ticks along the bottom and a marker at the current slot.
function axes(slots, yTicks) {
  const parts = [];
  const x = (i) => PAD_L + (i / slots) * (W - PAD_L);
  parts.push(svg("line", { class: "axis", x1: PAD_L, y1: H - PAD_B, x2: W, y2: H - PAD_B }));
  const perHour = 60 / latest.today.slot_minutes;
  for (let h = 0; h <= 24; h += 3) {
    parts.push(svg("text", { x: x(h * perHour), y: H - 4, "text-anchor": h === 24 ? "end" : "middle" },
      String(h).padStart(2, "0") + ":00"));
  }
  for (const [value, label] of yTicks) {
    parts.push(svg("text", { x: PAD_L - 4, y: value + 4, "text-anchor": "end" }, label));
    parts.push(svg("line", { class: "axis", x1: PAD_L, y1: value, x2: W, y2: value, "stroke-opacity": 0.4 }));
  }
  const now = x(latest.today.current_slot + 0.5);
  parts.push(svg("line", { class: "now", x1: now, y1: PAD_T, x2: now, y2: H - PAD_B }));
  return { parts, x };
}

function fit(id) {
  const e = document.getElementById(id);
  W = Math.max(200, Math.round(e.clientWidth));
  e.setAttribute("viewBox", `0 0 ${W} ${H}`);
  return e;
}

function renderCallsChart() {
  const chart = fit("calls-chart");
  const slots = latest.today.slots;
  const max = Math.max(1, ...slots.map((s) => s.offered + 0));
  const scale = (H - PAD_B - PAD_T) / max;
  const y = (v) => H - PAD_B - v * scale;
  const top = Math.ceil(max);
  const { parts, x } = axes(slots.length, [[y(top), String(top)], [y(0), "0"]]);
  const bw = (W - PAD_L) / slots.length;
  slots.forEach((s, i) => {
    if (!s.offered && !s.answered && !s.abandoned) return;
    parts.push(svg("rect", { class: "offered", x: x(i) + 1, y: y(s.offered), width: bw - 2, height: s.offered * scale }));
    parts.push(svg("rect", { class: "answered", x: x(i) + 1, y: y(s.answered), width: bw / 2 - 1, height: s.answered * scale }));
    parts.push(svg("rect", { class: "abandoned", x: x(i) + bw / 2, y: y(s.abandoned), width: bw / 2 - 1, height: s.abandoned * scale }));
  });
  chart.replaceChildren(...parts);
}

function renderSlChart() {
  const chart = fit("sl-chart");
  const slots = latest.today.slots;
  const y = (pct) => H - PAD_B - (pct / 100) * (H - PAD_B - PAD_T);
  const { parts, x } = axes(slots.length, [[y(100), "100%"], [y(50), "50%"], [y(0), "0%"]]);
  const targets = latest.queues.map((q) => q.service_level.target);
  if (targets.length) {
    const t = y(Math.min(...targets));
    parts.push(svg("line", { class: "target", x1: PAD_L, y1: t, x2: W, y2: t }));
  }
  const points = [];
  slots.forEach((s, i) => {
    const done = s.answered + s.abandoned + s.overflowed;
    if (!done) return;
    const px = x(i + 0.5), py = y((100 * s.answered_in_time) / done);
    points.push(`${px},${py}`);
    parts.push(svg("circle", { class: "sl-dot", cx: px, cy: py, r: 3 }));
  });
  if (points.length > 1) parts.push(svg("polyline", { class: "sl", points: points.join(" ") }));
  chart.replaceChildren(...parts);
}

// Every second: the clock, and times in state / waits advanced locally.
function tick() {
  if (!latest) return;
  const serverNow = new Date(latest.now_unix_ms + elapsed() * 1000);
  // The centre's zone, not the browser's ("system" when the server's is unnamed).
  const zone = latest.today.timezone === "system" ? undefined : latest.today.timezone;
  document.getElementById("clock").textContent =
    serverNow.toLocaleTimeString("en-GB", { hour12: false, timeZone: zone });
  for (const t of document.querySelectorAll(".agent .time")) {
    t.textContent = duration(Number(t.dataset.since) + elapsed());
  }
  for (const t of document.querySelectorAll("td.longest")) {
    if (t.dataset.live === "1") t.textContent = duration(Number(t.dataset.wait) + elapsed());
  }
}

document.getElementById("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  token = document.getElementById("token").value.trim();
  localStorage.setItem(TOKEN_KEY, token);
  setStatus("connecting");
  connect();
});

readToken();
setInterval(tick, 1000);
window.addEventListener("resize", render);
connect();
