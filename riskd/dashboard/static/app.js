// riskd dashboard: plain JavaScript, no build, no CDN. Reads /dashboard/api/*, draws SVG.
"use strict";
(function () {
  const P = "/dashboard";
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#1565c0", "#6a1b9a", "#c2185b", "#0277bd", "#4527a0", "#ad1457"];
  const PRICE_COLORS = ["#00897b", "#6d4c41", "#558b2f", "#546e7a"];
  const MAX_POINTS = 2000;
  const MAX_MARKERS = 300;
  const risk = new Map();    // "account/scope" -> [[t, rate]]
  const prices = new Map();  // coin -> [[t, price]]
  const markers = [];        // {at, category, text}
  const seenMarkers = new Set();
  let last = null;

  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function utc(t) {
    if (t === null || t === undefined) return "";
    return new Date(t * 1000).toISOString().replace("T", " ").slice(0, 19);
  }
  const num = (s) => (s === null || s === undefined ? null : Number(s));

  // --- gauges -------------------------------------------------------------------------
  function arc(cx, cy, r, a0, a1) {
    const p = (a) => [cx + r * Math.cos(Math.PI * (1 - a)), cy - r * Math.sin(Math.PI * (1 - a))];
    const [x0, y0] = p(a0), [x1, y1] = p(a1);
    return `M ${x0} ${y0} A ${r} ${r} 0 0 1 ${x1} ${y1}`;
  }
  function gauge(account, row) {
    const rate = num(row.risk_rate), warn = num(row.warning_risk_ratio);
    const liq = num(row.liquidation_risk_ratio);
    const top = Math.max((liq || 1) * 1.15, rate || 0);
    const f = (v) => Math.max(0, Math.min(1, v / top));
    const box = el("div", {
      class: "gauge", "data-account": account, "data-scope": row.scope,
      "data-rate": row.risk_rate === null ? "" : row.risk_rate,
    });
    if (rate !== null && liq !== null && rate >= liq * 0.95) box.classList.add("danger");
    else if (rate !== null && warn !== null && rate >= warn) box.classList.add("warn");
    box.appendChild(el("div", { class: "title" }, `${account} · ${row.scope}`));
    const s = svg("svg", { viewBox: "0 0 200 112", width: 200, height: 112 });
    s.appendChild(svg("path", { d: arc(100, 100, 80, 0, 1), stroke: "#e0e0e0", "stroke-width": 16, fill: "none" }));
    if (warn !== null) s.appendChild(svg("path", { d: arc(100, 100, 80, 0, f(warn)), stroke: "#2e8b57", "stroke-width": 16, fill: "none" }));
    if (warn !== null && liq !== null) s.appendChild(svg("path", { d: arc(100, 100, 80, f(warn), f(liq)), stroke: "#d89614", "stroke-width": 16, fill: "none" }));
    if (liq !== null) s.appendChild(svg("path", { d: arc(100, 100, 80, f(liq), 1), stroke: "#c62828", "stroke-width": 16, fill: "none" }));
    if (rate !== null) {
      const a = Math.PI * (1 - f(rate));
      s.appendChild(svg("line", { x1: 100, y1: 100, x2: 100 + 70 * Math.cos(a), y2: 100 - 70 * Math.sin(a), stroke: "#222", "stroke-width": 3, class: "needle" }));
    }
    s.appendChild(svg("circle", { cx: 100, cy: 100, r: 5, fill: "#222" }));
    box.appendChild(s);
    box.appendChild(el("div", { class: "rate" }, rate === null ? "?" : rate.toFixed(4)));
    const ratio = (v) => (v === null ? "?" : String(Number(v)));
    box.appendChild(el("div", { class: "muted" }, `warning ${ratio(warn)} · liquidation ${ratio(liq)}`));
    const move = num(row.price_move_to_liquidation);
    const dist = move === null ? "no price move liquidates (or unknown)"
      : `liquidation at a ${(move * 100).toFixed(2)} % price move`;
    box.appendChild(el("div", { class: "distance" }, dist));
    if (row.headroom_to_liquidation !== null) box.appendChild(el("div", { class: "muted" }, `headroom ${num(row.headroom_to_liquidation).toFixed(4)}`));
    if (row.stale) box.appendChild(el("div", { class: "stale" }, "STALE data"));
    if (row.error) box.appendChild(el("div", { class: "stale" }, row.error));
    if (row.firing && row.firing.length) box.appendChild(el("div", { class: "stale" }, `firing: ${row.firing.join(", ")}`));
    return box;
  }
  function renderGauges(state) {
    const box = $("gauges");
    box.replaceChildren();
    for (const acc of state.accounts || []) {
      if (acc.stopped) box.appendChild(el("div", { class: "gauge danger" }, `${acc.name}: STOPPED ${acc.stopped}`));
      for (const row of acc.scopes) box.appendChild(gauge(acc.name, row));
    }
    if (!box.children.length) box.appendChild(el("p", { class: "muted" }, "no risk figures yet"));
  }

  // --- timeline -----------------------------------------------------------------------
  function push(series, key, t, v) {
    if (t === null || v === null || Number.isNaN(v)) return;
    const s = series.get(key) || [];
    if (s.length && s[s.length - 1][0] >= t) return;
    s.push([t, v]);
    if (s.length > MAX_POINTS) s.shift();
    series.set(key, s);
  }
  function addMarker(m) {
    const id = `${m.at}|${m.category}|${m.text}`;
    if (seenMarkers.has(id)) return;
    seenMarkers.add(id);
    markers.push(m);
    markers.sort((a, b) => a.at - b.at);
    if (markers.length > MAX_MARKERS) markers.shift();
    $("timeline-events").replaceChildren(
      ...markers.slice().reverse().map((x) => el("li", { class: `tl-${x.category}` }, `${utc(x.at)} ${x.kind} ${x.text}`)),
    );
  }
  function absorb(state) {
    for (const acc of state.accounts || []) {
      for (const row of acc.scopes) {
        const key = `${acc.name}/${row.scope}`;
        for (const [t, r] of row.risk_samples || []) push(risk, key, t, Number(r));
        push(risk, key, row.observed_at, num(row.risk_rate));
      }
    }
    for (const [coin, p] of Object.entries(state.index_prices || {})) push(prices, coin, state.now, Number(p));
    for (const a of state.recent_actions || []) {
      const what = `${a.dry_run ? "DRY-RUN " : ""}${a.kind} ${a.account}/${a.scope} [${a.rule}] ${a.status}`;
      addMarker({ at: a.at, category: "action", kind: "action", text: what });
    }
  }
  function renderChart(state) {
    const c = $("chart");
    c.replaceChildren();
    const W = 900, H = 260, L = 46, R = 10, T = 10, B = 22;
    let t0 = Infinity, t1 = -Infinity, top = 0;
    for (const s of risk.values()) for (const [t, v] of s) { t0 = Math.min(t0, t); t1 = Math.max(t1, t); top = Math.max(top, v); }
    for (const m of markers) { t0 = Math.min(t0, m.at); t1 = Math.max(t1, m.at); }
    if (state && state.now) t1 = Math.max(t1, state.now);
    let liq = null, warn = null;
    for (const acc of (state && state.accounts) || []) for (const r of acc.scopes) {
      if (r.liquidation_risk_ratio) liq = Math.max(liq || 0, Number(r.liquidation_risk_ratio));
      if (r.warning_risk_ratio) warn = Math.max(warn || 0, Number(r.warning_risk_ratio));
    }
    top = Math.max(top, liq || 1) * 1.05;
    if (!(t1 > t0)) { t0 = (t1 === -Infinity ? 0 : t1) - 60; t1 = t0 + 60; }
    const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
    const y = (v) => T + (1 - v / top) * (H - T - B);
    for (const v of [0, top / 2, top]) {
      c.appendChild(svg("text", { x: 2, y: y(v) + 4, "font-size": 10, fill: "#777" }, v.toFixed(2)));
      c.appendChild(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eee" }));
    }
    if (warn) c.appendChild(svg("line", { x1: L, x2: W - R, y1: y(warn), y2: y(warn), stroke: "#d89614", "stroke-dasharray": "4 3" }));
    if (liq) c.appendChild(svg("line", { x1: L, x2: W - R, y1: y(liq), y2: y(liq), stroke: "#c62828", "stroke-dasharray": "4 3" }));
    c.appendChild(svg("text", { x: L, y: H - 6, "font-size": 10, fill: "#777" }, utc(t0)));
    c.appendChild(svg("text", { x: W - R - 120, y: H - 6, "font-size": 10, fill: "#777" }, utc(t1)));
    for (const m of markers) {
      const color = m.category === "alert" ? "#c62828" : "#1565c0";
      const line = svg("line", { x1: x(m.at), x2: x(m.at), y1: T, y2: H - B, stroke: color, "stroke-opacity": 0.5, class: `marker marker-${m.category}` });
      line.appendChild(svg("title", {}, `${utc(m.at)} ${m.text}`));
      c.appendChild(line);
    }
    const legend = $("legend");
    legend.replaceChildren();
    let i = 0;
    for (const [key, s] of risk) {
      const color = COLORS[i++ % COLORS.length];
      c.appendChild(svg("polyline", { points: s.map(([t, v]) => `${x(t)},${y(v)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2, class: "risk-line" }));
      const span = el("span", {}, `risk ${key}`);
      const sw = el("i"); sw.style.background = color; span.prepend(sw); legend.appendChild(span);
    }
    let j = 0;
    for (const [coin, s] of prices) {
      if (coin === "USDT" || s.length < 1) continue;
      const color = PRICE_COLORS[j++ % PRICE_COLORS.length];
      const lo = Math.min(...s.map((p) => p[1])), hi = Math.max(...s.map((p) => p[1]));
      const py = (v) => T + (1 - (hi > lo ? (v - lo) / (hi - lo) : 0.5)) * (H - T - B);
      c.appendChild(svg("polyline", { points: s.map(([t, v]) => `${x(t)},${py(v)}`).join(" "), fill: "none", stroke: color, "stroke-dasharray": "5 3", class: "price-line" }));
      const span = el("span", {}, `${coin} ${s[s.length - 1][1]} (${lo}–${hi})`);
      const sw = el("i"); sw.style.background = color; span.prepend(sw); legend.appendChild(span);
    }
  }

  // --- tables ---------------------------------------------------------------------------
  function fill(id, rows) {
    const body = $(id).querySelector("tbody");
    body.replaceChildren(...rows);
    if (!rows.length) body.appendChild(el("tr", {}, "")).appendChild(el("td", { colspan: 6, class: "muted" }, "nothing yet"));
  }
  function renderRules(state) {
    fill("rules", (state.rules || []).map((r) => {
      const tr = el("tr", { "data-rule": r.rule });
      for (const v of [r.account, r.scope, r.rule]) tr.appendChild(el("td", {}, v));
      tr.appendChild(el("td", { class: r.status }, r.status));
      return tr;
    }));
  }
  function renderBudget(state) {
    fill("budget", (state.budget || []).map((b) => {
      const tr = el("tr");
      tr.appendChild(el("td", {}, b.key));
      const share = b.capacity ? b.used / b.capacity : 0;
      const bar = el("span", { class: share > 0.8 ? "bar hot" : "bar" });
      const fillEl = el("i"); fillEl.style.width = `${Math.round(Math.min(1, share) * 100)}%`; bar.appendChild(fillEl);
      const td = el("td"); td.appendChild(bar); tr.appendChild(td);
      tr.appendChild(el("td", {}, `${b.used} / ${b.capacity} (polls ${b.used_by_polls})`));
      tr.appendChild(el("td", {}, `${b.limit} per ${b.window_s}s`));
      tr.appendChild(el("td", {}, b.http_429));
      tr.appendChild(el("td", {}, `${b.waits} (${Number(b.wait_time_s).toFixed(2)}s)${b.backoff_remaining_s > 0 ? ", backing off" : ""}`));
      return tr;
    }));
  }
  function renderHeader(state) {
    const line = state.daemon_line || { running: false, text: "not running" };
    const d = $("daemon-line");
    d.textContent = line.text;
    d.className = `daemon ${line.running ? "up" : "down"}`;
    const paused = (state.accounts || []).filter((a) => a.paused).map((a) => a.name);
    const p = $("paused");
    if (state.paused_all) { p.textContent = "ACTIONS PAUSED (every account)"; p.classList.remove("hidden"); }
    else if (paused.length) { p.textContent = `ACTIONS PAUSED: ${paused.join(", ")}`; p.classList.remove("hidden"); }
    else p.classList.add("hidden");
    const dropped = (state.page_dropped || 0);
    $("dropped").textContent = dropped ? `${dropped} events dropped (page too slow)` : "";
    $("control-panel").classList.toggle("hidden", !state.writes);
    const sel = $("c-account");
    const names = (state.accounts || []).map((a) => a.name);
    const have = Array.from(sel.options).map((o) => o.value).filter(Boolean);
    if (names.join() !== have.join()) {
      sel.replaceChildren(el("option", { value: "" }, "every account"), ...names.map((n) => el("option", { value: n }, n)));
    }
  }
  function render(state) {
    last = state;
    renderHeader(state);
    if (!state.accounts) { renderChart(state); return; }  // not running: keep what we had
    absorb(state);
    renderGauges(state);
    renderChart(state);
    renderRules(state);
    renderBudget(state);
  }

  // --- journal ---------------------------------------------------------------------------
  async function loadJournal(ev) {
    if (ev) ev.preventDefault();
    const q = new URLSearchParams({ limit: "100" });
    for (const [k, id] of [["kind", "f-kind"], ["account", "f-account"], ["since", "f-since"]]) {
      const v = $(id).value.trim();
      if (v) q.set(k, v);
    }
    $("journal-error").textContent = "";
    try {
      const r = await fetch(`${P}/api/journal?${q}`, { cache: "no-store" });
      const doc = await r.json();
      if (!r.ok) { $("journal-error").textContent = doc.error || `error ${r.status}`; return; }
      if (doc.daemon_line) $("journal-error").textContent = doc.daemon_line.text;
      fill("journal", doc.events.slice().reverse().map((e) => {
        const tr = el("tr", { class: `kind-${e.kind}` });
        for (const v of [utc(e.at), e.kind, e.account || "", e.scope || "", e.rule || "", e.summary]) tr.appendChild(el("td", {}, v));
        return tr;
      }));
    } catch (err) {
      $("journal-error").textContent = "dashboard unreachable";
    }
  }

  // --- pause / resume ---------------------------------------------------------------------
  async function control(paused) {
    const out = $("c-result");
    const account = $("c-account").value || null;
    out.textContent = "…";
    try {
      const r = await fetch(`${P}/api/${paused ? "pause" : "resume"}`, {
        method: "POST", cache: "no-store", credentials: "omit",
        headers: { "Content-Type": "application/json", "X-Riskd-Token": $("c-token").value },
        body: JSON.stringify({ account }),
      });
      const doc = await r.json();
      out.textContent = r.ok ? doc.text : (doc.error || `refused (${r.status})`);
      out.className = r.ok ? "" : "error";
    } catch (err) {
      out.textContent = "dashboard unreachable"; out.className = "error";
    }
  }

  // --- start ------------------------------------------------------------------------------
  function connect() {
    const es = new EventSource(`${P}/api/stream`);
    es.addEventListener("open", () => { $("stream-state").textContent = "live"; });
    es.addEventListener("error", () => { $("stream-state").textContent = "reconnecting…"; });
    es.addEventListener("state", (m) => render(JSON.parse(m.data)));
    es.addEventListener("daemon", (m) => {
      const e = JSON.parse(m.data);
      if (e.category === "event") return;
      const where = [e.account, e.scope].filter(Boolean).join("/");
      addMarker({ at: e.at, category: e.category, kind: e.kind, text: `${where} ${e.rule ? `[${e.rule}] ` : ""}${e.alert || e.summary}` });
      if (last) renderChart(last);
    });
  }
  document.addEventListener("DOMContentLoaded", () => {
    const kinds = ["lifecycle", "decision", "notification", "intent", "accepted", "outcome", "verified", "uncertain", "paused", "resumed", "stale", "blocked", "liquidated", "reload", "shadow", "telegram"];
    for (const k of kinds) $("f-kind").appendChild(el("option", { value: k }, k));
    $("journal-filter").addEventListener("submit", loadJournal);
    $("c-pause").addEventListener("click", () => control(true));
    $("c-resume").addEventListener("click", () => control(false));
    fetch(`${P}/api/state`, { cache: "no-store" }).then((r) => r.json()).then(render).catch(() => {});
    loadJournal();
    connect();
    setInterval(loadJournal, 15000);
  });
})();
