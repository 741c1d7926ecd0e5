// gridwatch dispatch console: the queue, the map and the actions of the case loop.
"use strict";

const COLORS = {
  routed: "#d97706", acknowledged: "#2563eb", verified: "#7c3aed", in_progress: "#0891b2",
  resolved: "#16a34a", closed: "#6b7280", rejected: "#9ca3af", reported: "#d97706",
};
const NEXT_ACTIONS = {
  routed: ["acknowledge", "reassign", "escalate"],
  acknowledged: ["reassign", "escalate"],  // verifying needs the officer on site (their app)
  verified: ["start", "reassign", "escalate"],
  in_progress: ["resolve", "reassign", "escalate"],
  resolved: ["close", "reopen"],
  closed: ["reopen"],
  rejected: ["reopen"],
};
const LABELS = {
  acknowledge: "受理 acknowledge", start: "开始处置 start",
  resolve: "处置完毕 resolve", close: "办结 close", reopen: "重新打开 reopen", reassign: "改派 reassign",
  escalate: "上报 escalate",
};

const state = { token: localStorage.getItem("gridwatch.token") || "", cases: [], selected: null, markers: {} };
const $ = (id) => document.getElementById(id);

const map = L.map("map", { preferCanvas: false }).setView([23.02, 113.75], 11);
const gridLayer = L.geoJSON(null, { style: { color: "#12324d", weight: 1, fillOpacity: 0.02 } }).addTo(map);
const caseLayer = L.layerGroup().addTo(map);

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
  const response = await fetch(path, { ...options, headers });
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText;
    throw new Error(`${response.status}: ${detail}`);
  }
  return body;
}

function say(text) { $("message").textContent = text || ""; }

function due(c) {
  const next = c.deadlines.next;
  if (!next) return "—";
  const minutes = Math.round((new Date(next) - new Date()) / 60000);
  return minutes < 0 ? `超时 ${-minutes} 分钟 overdue` : `${minutes} 分钟 min`;
}

function assignee(c) {
  const a = c.routing.assignee || {};
  if (a.person) return a.person.name;
  return a.unit ? a.unit.name : a.kind || "—";
}

async function loadQueue() {
  if (!state.token) { say("请先登录 · sign in with your token"); return; }
  map.invalidateSize();
  say("");
  const status = $("status").value;
  const query = new URLSearchParams({ limit: "200" });
  if (status) query.append("status", status);
  else ["routed", "acknowledged", "verified", "in_progress", "resolved"].forEach((s) => query.append("status", s));
  try {
    const data = await api(`/api/v1/cases?${query}`);
    state.cases = data.cases;
    $("total").textContent = `${data.total} 件 cases`;
    renderQueue();
    renderMarkers();
  } catch (error) {
    say(error.message);
  }
}

function renderQueue() {
  const body = $("queue").querySelector("tbody");
  body.replaceChildren();
  $("empty").hidden = state.cases.length > 0;
  for (const c of state.cases) {
    const row = document.createElement("tr");
    row.dataset.id = c.id;
    if (c.deadlines.overdue) row.classList.add("overdue");
    if (state.selected === c.id) row.classList.add("selected");
    const cells = [c.id, c.category.name, null, c.routing.grid ? c.routing.grid.name + " " + c.routing.grid.code : "—", assignee(c), due(c)];
    cells.forEach((value, i) => {
      const td = document.createElement("td");
      if (i === 2) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.style.background = COLORS[c.status];
        badge.textContent = c.status;
        td.append(badge);
      } else {
        td.textContent = value;
      }
      row.append(td);
    });
    row.addEventListener("click", () => select(c.id));
    body.append(row);
  }
}

function renderMarkers() {
  caseLayer.clearLayers();
  state.markers = {};
  const bounds = [];
  for (const c of state.cases) {
    const marker = L.circleMarker([c.lat, c.lon], {
      radius: 7, color: "#fff", weight: 1.5, fillColor: COLORS[c.status], fillOpacity: 0.9,
    }).bindTooltip(`#${c.id} ${c.category.name} · ${c.status}`);
    marker.on("click", () => select(c.id));
    marker.addTo(caseLayer);
    state.markers[c.id] = marker;
    bounds.push([c.lat, c.lon]);
  }
  if (bounds.length && !state.fitted) { map.fitBounds(bounds, { maxZoom: 15, padding: [30, 30] }); state.fitted = true; }
}

async function loadGrids() {
  // towns when zoomed out, grids of the visible area when zoomed in (no basemap: intranet)
  const b = map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
  const level = map.getZoom() < 13 ? "town" : "grid";
  try {
    const data = await api(`/api/v1/grids?level=${level}&bbox=${bbox}&limit=2000&precision=5`);
    gridLayer.clearLayers();
    gridLayer.addData(data);
  } catch (error) {
    say(error.message);
  }
}

async function select(id) {
  state.selected = id;
  renderQueue();
  const [c, history] = await Promise.all([api(`/api/v1/cases/${id}`), api(`/api/v1/cases/${id}/history`)]);
  const marker = state.markers[id];
  if (marker) map.panTo(marker.getLatLng(), { animate: false });
  const panel = $("detail-body");
  panel.replaceChildren();
  const title = document.createElement("h2");
  title.textContent = `#${c.id} ${c.category.name} · ${c.status}`;
  const facts = document.createElement("p");
  facts.textContent = `${c.description || "(无描述 no description)"} — ${c.routing.town ? c.routing.town.name : ""} ${c.routing.grid ? c.routing.grid.name : ""}; 承办 ${assignee(c)}; 部门 ${c.department ? c.department.name : "—"}; 上报人 ${c.reporter ? c.reporter.pseudonym : "—"}`;
  const reasons = document.createElement("ul");
  for (const reason of c.routing.reasons || []) {
    const li = document.createElement("li");
    li.textContent = reason;
    reasons.append(li);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const action of NEXT_ACTIONS[c.status] || []) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = LABELS[action];
    button.addEventListener("click", () => act(c, action));
    actions.append(button);
  }
  const steps = document.createElement("ol");
  for (const h of history) {
    const li = document.createElement("li");
    li.textContent = `${new Date(h.at).toLocaleString()} · ${h.action} ${h.from || ""} → ${h.to} (${h.actor_role}) ${h.note || ""}`;
    steps.append(li);
  }
  panel.append(title, facts, reasons, actions, steps);
  $("detail").hidden = false;
}

async function act(c, action) {
  const body = { note: "" };
  if (action === "resolve") body.note = prompt("处置情况 what was done?", "") || "";
  if (action === "reassign") body.officer = prompt("改派给网格员编号 officer code", "") || undefined;
  if (action === "escalate") body.note = prompt("上报原因 why?", "") || "";
  try {
    await api(`/api/v1/cases/${c.id}/${action}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "If-Match": String(c.version) },
      body: JSON.stringify(body),
    });
    await loadQueue();
    await select(c.id);
  } catch (error) {
    say(error.message);
  }
}

window.addEventListener("resize", () => map.invalidateSize());
$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  state.token = $("token").value.trim();
  localStorage.setItem("gridwatch.token", state.token);
  // the map and report pages read the token from this cookie (never from a URL)
  document.cookie = `gridwatch_token=${encodeURIComponent(state.token)}; path=/; SameSite=Strict`;
  await loadQueue();
  await loadGrids();
});
$("refresh").addEventListener("click", loadQueue);
$("status").addEventListener("change", loadQueue);
$("close-detail").addEventListener("click", () => { $("detail").hidden = true; state.selected = null; renderQueue(); });
map.on("moveend", loadGrids);
if (state.token) { $("token").value = state.token; loadQueue().then(loadGrids); }
setInterval(() => { if (state.token) loadQueue(); }, 30000);
