// The exchange console's page: plain JavaScript and SVG, no library, no build step.
// Everything it shows comes from /api/stream (server-sent events, one tick a second).
// Nothing is written to the browser's storage; the CSRF token lives in this closure only.
"use strict";
(() => {
  const SVG = "http://www.w3.org/2000/svg";
  const WINDOW_S = 900; // the charts' 15 minutes
  const ui = {
    region: null, places: {}, history: [], last: null, offsetMs: 0,
    csrf: null, operator: null, source: null,
  };
  const $ = (id) => document.getElementById(id);

  // ---- small DOM helpers (textContent only: no HTML from data) ----------------------------
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function row(cells, cls) {
    const tr = el("tr", cls ? { class: cls } : {});
    for (const c of cells) {
      if (c instanceof Node) { const td = el("td"); td.appendChild(c); tr.appendChild(td); }
      else if (typeof c === "object" && c !== null) tr.appendChild(el("td", c.attrs || {}, c.text));
      else tr.appendChild(el("td", {}, c));
    }
    return tr;
  }
  function fill(tbody, rows) { tbody.replaceChildren(...rows); }
  const num = (text) => ({ attrs: { class: "num" }, text });
  const ms = (s) => (s === null || s === undefined ? "–" : `${Math.round(s * 1000)} ms`);
  const rate = (r) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));
  const city = (id) => (id === "*" ? "all partners" : (ui.places[id] ? ui.places[id].city : id));

  // ---- the stream ------------------------------------------------------------------------
  function filters() {
    const q = new URLSearchParams();
    for (const name of ["kind", "agency", "status"]) {
      const v = $(`filter-${name}`).value;
      if (v) q.set(name, v);
    }
    const s = q.toString();
    return s ? `?${s}` : "";
  }
  function connect() {
    if (ui.source) ui.source.close();
    const source = new EventSource(`/api/stream${filters()}`);
    ui.source = source;
    source.addEventListener("hello", (e) => {
      const hello = JSON.parse(e.data);
      if (!ui.region) setUp(hello.region);
      ui.history = hello.history || [];
    });
    source.addEventListener("tick", (e) => {
      const snap = JSON.parse(e.data);
      ui.offsetMs = Date.parse(snap.now) - Date.now();
      ui.last = snap;
      render(snap);
      setLink("link-ok", "live");
    });
    source.onerror = () => setLink("link-wait", "reconnecting…");
  }
  function setLink(cls, text) { const l = $("link"); l.className = cls; l.textContent = text; }

  function setUp(region) {
    ui.region = region;
    $("principal").textContent = region.principal;
    for (const p of region.places) ui.places[p.agency] = p;
    const addOptions = (select, items) => {
      for (const [value, label] of items) select.appendChild(el("option", { value }, label));
    };
    addOptions($("filter-kind"), region.alert_kinds.map((k) => [k, k.toLowerCase()]));
    addOptions($("filter-status"), region.alert_statuses.map((s) => [s, s.toLowerCase()]));
    addOptions($("filter-agency"), region.places.map((p) => [p.agency, p.city]));
    for (const name of ["kind", "agency", "status"]) $(`filter-${name}`).addEventListener("change", connect);
  }

  // ---- rendering -------------------------------------------------------------------------
  function render(snap) {
    if (snap.starting) { setLink("link-wait", "starting: waiting for the region"); return; }
    const point = snap.metrics && snap.metrics.totals;
    if (point && point.t && (!ui.history.length || ui.history[ui.history.length - 1].t !== point.t)) {
      ui.history.push(point);
      while (ui.history.length && ui.history[0].t < point.t - WINDOW_S) ui.history.shift();
    }
    $("errors").textContent = (snap.errors || []).join("; ");
    const health = {};
    for (const b of snap.metrics.bridges) health[b.province] = b.health;
    renderMap(snap.flows, health);
    renderBridges(snap.metrics.bridges);
    renderFlows(snap.flows);
    renderCharts();
    renderRequests();
    renderAlerts(snap.alerts);
    renderDeadLetters(snap.dead_letters);
  }

  // A province is drawn as the padded convex hull of its cities: a polygon with a thick,
  // round-joined stroke of its own colour (a single city becomes a disc).
  function hull(points) {
    const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    if (pts.length < 3) return pts;
    const cross = (o, a, b) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    const half = (list) => {
      const out = [];
      for (const p of list) {
        while (out.length >= 2 && cross(out[out.length - 2], out[out.length - 1], p) <= 0) out.pop();
        out.push(p);
      }
      out.pop();
      return out;
    };
    return [...half(pts), ...half([...pts].reverse())];
  }

  function renderMap(flows, health) {
    const map = $("map");
    map.setAttribute("viewBox", `0 0 100 ${ui.region.map_height}`);
    const nodes = [];
    const byProvince = {};
    for (const p of ui.region.places) (byProvince[p.province] ||= []).push(p);
    for (const [key, places] of Object.entries(byProvince)) {
      const points = hull(places.map((p) => [p.x, p.y]));
      if (points.length === 1) nodes.push(svg("circle", { class: "province", cx: points[0][0], cy: points[0][1], r: 0.1 }));
      else if (points.length === 2) {
        nodes.push(svg("line", { class: "province", x1: points[0][0], y1: points[0][1], x2: points[1][0], y2: points[1][1] }));
      } else nodes.push(svg("polygon", { class: "province", points: points.map((p) => p.join(",")).join(" ") }));
      const top = places.reduce((a, b) => (b.y < a.y ? b : a));
      const name = ui.region.provinces[key];
      nodes.push(svg("text", { class: "province-name", x: top.x - 6, y: top.y - 6.2 }, name ? name.name : key));
    }
    const pairs = {};
    const broadcast = {};
    for (const f of flows) {
      if (f.target === "*") { broadcast[f.source] = (broadcast[f.source] || 0) + f.rate; continue; }
      const k = `${f.source}>${f.target}`;
      pairs[k] = (pairs[k] || 0) + f.rate;
    }
    const ranked = Object.entries(pairs).sort((a, b) => b[1] - a[1]);
    const labelled = new Set(ranked.slice(0, 8).map(([k]) => k));
    for (const [k, r] of ranked.reverse()) {
      const [s, t] = k.split(">");
      const a = ui.places[s], b = ui.places[t];
      if (!a || !b || r <= 0) continue;
      const dx = b.x - a.x, dy = b.y - a.y;
      const cx = (a.x + b.x) / 2 - dy * 0.15, cy = (a.y + b.y) / 2 + dx * 0.15;
      const cls = health[b.province] || "unknown";
      const width = Math.min(1.6, 0.12 + 0.35 * Math.log2(1 + r));
      const path = svg("path", { class: `flow ${cls}`, d: `M${a.x},${a.y} Q${cx},${cy} ${b.x},${b.y}`, "stroke-width": width.toFixed(2) });
      path.appendChild(svg("title", {}, `${city(s)} → ${city(t)}: ${rate(r)} events/s`));
      nodes.push(path);
      if (labelled.has(k)) nodes.push(svg("text", { class: "flow-rate", x: (a.x + 2 * cx + b.x) / 4, y: (a.y + 2 * cy + b.y) / 4 }, rate(r)));
    }
    for (const p of ui.region.places) {
      const cls = health[p.province] || "unknown";
      const b = broadcast[p.agency] || 0;
      if (b > 0) {
        const halo = svg("circle", { class: "broadcast", cx: p.x, cy: p.y, r: 2.2 + Math.min(3, b), "stroke-width": 0.35 });
        halo.appendChild(svg("title", {}, `${p.city}: alerts to all partners ${rate(b)}/s`));
        nodes.push(halo);
      }
      const dot = svg("circle", { class: `city ${cls}`, cx: p.x, cy: p.y, r: 1.7, "data-agency": p.agency });
      dot.appendChild(svg("title", {}, `${p.city} ${p.city_zh} (${p.agency})`));
      nodes.push(dot);
      nodes.push(svg("text", { class: "city-name", x: p.x, y: p.y - 2.6 }, p.city));
      if (b > 0) nodes.push(svg("text", { class: "broadcast-rate", x: p.x + 2.6, y: p.y + 2.6 }, `alerts ${rate(b)}/s`));
    }
    map.replaceChildren(...nodes);
  }

  function renderBridges(bridges) {
    fill($("bridges").tBodies[0], bridges.map((b) => {
      const dot = el("span");
      dot.appendChild(el("span", { class: `health ${b.health}` }));
      dot.appendChild(document.createTextNode(b.health));
      const name = ui.region.provinces[b.province];
      return row([name ? `${name.name} (${b.province})` : b.province, dot, num(rate(b.delivered_rate)),
        num(b.lag), num(ms(b.p50)), num(ms(b.p99)), num(b.dead_lettered), num(b.rejected)]);
    }));
  }

  function renderFlows(flows) {
    const total = flows.reduce((s, f) => s + f.rate, 0);
    $("flows-total").textContent = `(${rate(total)} events/s in all)`;
    fill($("flows").tBodies[0], flows.slice(0, 40).map((f) =>
      row([city(f.source), city(f.target), f.type, num(rate(f.rate))], "flow-row")));
  }

  function renderChart(id, series, scale) {
    const chart = $(id);
    const now = Date.now() / 1000 + ui.offsetMs / 1000;
    const x = (t) => 28 + ((t - (now - WINDOW_S)) / WINDOW_S) * 268;
    let max = 0;
    for (const p of ui.history) for (const s of series) if (p[s] !== null && p[s] !== undefined) max = Math.max(max, p[s] * scale);
    max = max > 0 ? max * 1.1 : 1;
    const y = (v) => 100 - (v / max) * 92;
    const nodes = [svg("line", { class: "axis", x1: 28, y1: 100, x2: 296, y2: 100 }),
      svg("line", { class: "axis", x1: 28, y1: 8, x2: 28, y2: 100 }),
      svg("text", { class: "axis-label", x: 2, y: 12 }, max >= 10 ? max.toFixed(0) : max.toFixed(1)),
      svg("text", { class: "axis-label", x: 2, y: 100 }, "0"),
      svg("text", { class: "axis-label", x: 28, y: 109 }, "−15 min"),
      svg("text", { class: "axis-label", x: 280, y: 109 }, "now")];
    for (const s of series) {
      const pts = ui.history.filter((p) => p[s] !== null && p[s] !== undefined)
        .map((p) => `${x(p.t).toFixed(1)},${y(p[s] * scale).toFixed(1)}`);
      if (pts.length > 1) nodes.push(svg("polyline", { class: `series ${s}`, points: pts.join(" ") }));
    }
    chart.replaceChildren(...nodes);
  }
  function renderCharts() {
    renderChart("chart-throughput", ["published", "delivered"], 1);
    renderChart("chart-latency", ["p50", "p99"], 1000);
  }

  function countdown(deadline) {
    const left = Math.round((Date.parse(deadline) - (Date.now() + ui.offsetMs)) / 1000);
    const a = Math.abs(left);
    const text = a >= 3600 ? `${Math.floor(a / 3600)}h${String(Math.floor((a % 3600) / 60)).padStart(2, "0")}m`
      : `${Math.floor(a / 60)}:${String(a % 60).padStart(2, "0")}`;
    return left >= 0 ? text : `−${text} late`;
  }
  function renderRequests() {
    const snap = ui.last;
    if (!snap || snap.starting) return;
    const req = snap.requests;
    const c = req.counts || {};
    $("request-counts").textContent = req.available
      ? `open ${(c.open || 0) + (c.acknowledged || 0)} · overdue ${c.overdue || 0} · answered in time ${c.answered_in_time || 0} · late ${c.answered_late || 0} · second notices ${c.second_notices || 0}`
      : "no tracker state yet";
    fill($("requests").tBodies[0], req.rows.map((r) => {
      const settled = r.state === "answered";
      const state = el("span", { class: `state-${r.state}` }, r.state + (r.late ? " (late)" : ""));
      const notice = r.second_notice === "sent" ? el("span", { class: "notice" }, "sent") : "–";
      return row([r.kind, r.id.slice(0, 8), city(r.requester), city(r.target), r.priority,
        `${r.deadline_kind} ${r.deadline.slice(11, 19)}`, settled ? "–" : num(countdown(r.deadline)), state, notice],
        `request ${r.state}`);
    }));
  }

  function renderAlerts(alerts) {
    $("alert-count").textContent = alerts.loading ? "loading the register…"
      : `${alerts.matched} matching${alerts.matched > alerts.rows.length ? `, newest ${alerts.rows.length} shown` : ""}`;
    fill($("alerts").tBodies[0], alerts.rows.map((a) =>
      row([{ attrs: { class: "alert-id" }, text: a.alert_id }, a.kind.toLowerCase(), a.category || "–", city(a.agency),
        a.status.toLowerCase(), num(a.revision), a.valid_until ? a.valid_until.slice(0, 16) : "–"], `alert ${a.status}`)));
  }

  function renderDeadLetters(groups) {
    const box = $("dead-letters");
    const parts = [];
    const names = Object.keys(groups || {});
    if (!names.length) parts.push(el("p", { class: "hint" }, "no dead-letter queue yet"));
    for (const name of names) {
      const g = groups[name];
      const div = el("div", { class: "group", "data-group": name });
      const reasons = Object.entries(g.reasons).map(([r, n]) => `${r} ×${n}`).join(", ") || "empty";
      div.appendChild(el("h3", { class: "hint" }, `${name}: ${g.count} — ${reasons}`));
      if (g.entries.length) {
        const table = el("table", { class: "dlq" });
        table.appendChild(el("thead")).appendChild(row(["entry", "written", "reason", "origin", "error", ""]));
        const body = el("tbody");
        for (const e of g.entries) {
          const button = el("button", { type: "button", class: "replay" }, e.replayed_at ? "replayed" : "replay");
          if (e.replayed_at) button.disabled = true;
          button.addEventListener("click", () => replay(name, e.entry));
          body.appendChild(row([e.entry, e.written.slice(11, 19), e.reason, e.origin, `${e.error_class}: ${e.message}`, button]));
        }
        table.appendChild(body);
        div.appendChild(table);
      }
      parts.push(div);
    }
    box.replaceChildren(...parts);
  }

  // ---- operator actions --------------------------------------------------------------------
  async function replay(group, entry) {
    const headers = { "content-type": "application/json" };
    if (ui.csrf) headers["x-hx-csrf"] = ui.csrf;
    const res = await fetch("/api/dlq/replay", {
      method: "POST", headers, body: JSON.stringify({ group, entry }), credentials: "same-origin",
    });
    const body = await res.json();
    $("replay-result").textContent = res.ok ? `entry ${entry}: ${body.status} — ${body.detail}`
      : `refused: ${body.error}`;
  }
  function showOperator() {
    $("operator-name").textContent = ui.operator ? `operator: ${ui.operator}` : "";
    $("login-open").hidden = !!ui.operator;
    $("logout").hidden = !ui.operator;
  }
  async function loadSession() {
    const res = await fetch("/api/session", { credentials: "same-origin" });
    const body = await res.json();
    ui.operator = body.operator; ui.csrf = body.csrf || null;
    showOperator();
  }
  function wireLogin() {
    const dialog = $("login-dialog");
    $("login-open").addEventListener("click", () => { $("login-error").textContent = ""; dialog.showModal(); });
    $("login-cancel").addEventListener("click", () => dialog.close());
    $("login-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const password = $("login-password");
      const res = await fetch("/api/login", {
        method: "POST", headers: { "content-type": "application/json" }, credentials: "same-origin",
        body: JSON.stringify({ name: $("login-name").value, password: password.value }),
      });
      password.value = "";
      const body = await res.json();
      if (!res.ok) { $("login-error").textContent = body.error; return; }
      ui.operator = body.operator; ui.csrf = body.csrf;
      showOperator();
      dialog.close();
    });
    $("logout").addEventListener("click", async () => {
      await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
      ui.operator = null; ui.csrf = null;
      showOperator();
    });
  }

  function tickClock() {
    $("clock").textContent = new Date(Date.now() + ui.offsetMs).toISOString().slice(11, 19) + " UTC";
    if (ui.last) renderRequests();
  }

  wireLogin();
  loadSession();
  connect();
  setInterval(tickClock, 500);
})();
