// gridwatch dispatch console (智网调度台): the live queue, the map, the case panel and every
// action a dispatcher may take. Live through server-sent events; no polling.
import {
  act, addWords, api, config, conversation, countdown, debounce, dot, el, getLang, live, lostRace,
  makeMap, setLang, showPhotos, shiftGeoJSON, signOut, STATUS_COLOURS, t, toMap, translatePage, when,
} from "/static/common/gw.js";

addWords({
  op_counts: { zh: "在岗 {s} · 缺员 {u} · 空岗 {e}", en: "staffed {s} · understaffed {u} · empty {e}" },
  op_staffed: { zh: "在岗", en: "staffed" }, op_understaffed: { zh: "缺员", en: "understaffed" },
  op_empty: { zh: "空岗", en: "empty" }, op_off: { zh: "非值守时段", en: "between shifts" },
  op_closed: { zh: "已结束", en: "closed" },
  buildings: { zh: "出租屋", en: "Rental buildings" }, next_inspection: { zh: "下次检查", en: "next inspection" },
  title: { zh: "智网调度台", en: "dispatch console" }, nav_hotspots: { zh: "热点图", en: "Hot spots" },
  nav_emerging: { zh: "新兴热点", en: "Emerging" }, nav_week: { zh: "周汇报", en: "Weekly report" },
  live: { zh: "实时", en: "live" }, sign_out: { zh: "退出", en: "Sign out" },
  all_categories: { zh: "所有类别", en: "all categories" }, grid_code: { zh: "网格编码", en: "grid code" },
  officer_code: { zh: "网格员编号", en: "officer code" }, only_overdue: { zh: "仅超时", en: "overdue only" },
  category: { zh: "类别", en: "Category" }, status: { zh: "状态", en: "Status" }, grid: { zh: "网格", en: "Grid" },
  assignee: { zh: "承办", en: "Assignee" }, due: { zh: "时限", en: "Due" },
  empty: { zh: "队列为空：通过接口或随手拍上报的案件会实时出现在这里。", en: "The queue is empty: reported cases appear here as they come." },
  keys: { zh: "键盘：j/k 上下 · Enter 打开 · a 受理 · Esc 关闭", en: "Keys: j/k next/previous · Enter open · a acknowledge · Esc close" },
  open: { zh: "在办", en: "open" }, cases_n: { zh: "{n} 件", en: "{n} cases" },
  why_here: { zh: "分派理由", en: "Why it went here" }, photos: { zh: "照片", en: "Photos" },
  audit: { zh: "办理记录", en: "Audit trail" }, duplicates: { zh: "附近可能重复的案件", en: "Nearby possible duplicates" },
  none_nearby: { zh: "附近没有同类在办案件", en: "No open case of this category nearby" },
  merge_into: { zh: "合并到 #{id}", en: "Merge into #{id}" }, metres: { zh: "{m} 米", en: "{m} m" },
  reporter: { zh: "上报人", en: "Reporter" }, department: { zh: "部门", en: "Department" },
  description: { zh: "描述", en: "Description" }, no_description: { zh: "（无描述）", en: "(no description)" },
  acknowledge: { zh: "受理", en: "Acknowledge" }, start: { zh: "开始处置", en: "Start" },
  resolve: { zh: "处置完毕", en: "Resolve" }, close: { zh: "办结", en: "Close" }, reopen: { zh: "重新打开", en: "Reopen" },
  reassign: { zh: "改派", en: "Reassign" }, escalate: { zh: "上报", en: "Escalate" },
  confirm: { zh: "确定", en: "Confirm" }, cancel: { zh: "取消", en: "Cancel" },
  note: { zh: "说明", en: "Note" }, what_done: { zh: "处置情况", en: "What was done" },
  to_officer: { zh: "网格员编号", en: "officer code" }, to_grid: { zh: "网格编码", en: "grid code" },
  to_department: { zh: "部门编码", en: "department code" }, done: { zh: "已完成：{a}", en: "Done: {a}" },
  new_case: { zh: "新案件 #{id}", en: "New case #{id}" },
});

const NEXT_ACTIONS = {
  routed: ["acknowledge", "reassign", "escalate"],
  acknowledged: ["reassign", "escalate"], // verifying needs the officer on site (/officer)
  verified: ["start", "reassign", "escalate"],
  in_progress: ["resolve", "reassign", "escalate"],
  resolved: ["close", "reopen"],
  closed: ["reopen"],
  rejected: ["reopen"],
};
const FIELDS = { // what an action asks for before it is sent
  resolve: [["note", "what_done", true]],
  escalate: [["note", "note", false]],
  reassign: [["officer", "to_officer"], ["grid", "to_grid"], ["department", "to_department"]],
};
const OPEN = ["routed", "acknowledged", "verified", "in_progress"];
const TABS = ["open", "routed", "acknowledged", "verified", "in_progress", "resolved", "closed", "rejected"];

const state = { tab: "open", cases: [], counts: {}, selected: null, current: null, markers: {}, fitted: false, known: new Set() };
const $ = (id) => document.getElementById(id);

const map = makeMap($("map"));
const gridLayer = L.geoJSON(null, { style: { color: "#12324d", weight: 1, fillOpacity: 0.02 }, interactive: false }).addTo(map);
const hotLayer = L.geoJSON(null, {
  style: (f) => ({ color: f.properties.gi_bin > 0 ? "#d62f27" : "#4575b5", weight: 0.5, fillOpacity: 0.12 * Math.abs(f.properties.gi_bin) }),
  onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.class} · ${f.properties.count}`),
}).addTo(map);
const caseLayer = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false }).addTo(map);
// rental buildings (楼栋/出租屋) with their head and next inspection; red when overdue
const buildingLayer = L.geoJSON(null, {
  pointToLayer: (f, at) => L.circleMarker(at, { radius: 4, weight: 1 }),
  style: (f) => ({ color: f.properties.overdue ? "#c62828" : "#5d4037", weight: 1, fillOpacity: 0.3 }),
  onEachFeature: (f, layer) => layer.bindTooltip(`${f.properties.name} · ${f.properties.units} · ${t("next_inspection")} ${f.properties.next_due}`),
});
L.control.layers(null, { [t("grid")]: gridLayer, ["Gi* hot spots"]: hotLayer, ["#"]: caseLayer, [t("buildings")]: buildingLayer }, { collapsed: true }).addTo(map);

function say(text) { $("message").textContent = text || ""; }

function notice(text, reload) {
  const box = $("notice");
  box.hidden = !text;
  box.replaceChildren(text || "");
  if (text && reload) box.append(el("button", { type: "button", onclick: () => { box.hidden = true; reload(); } }, t("reload")));
}

function assignee(c) {
  const a = c.routing.assignee || {};
  if (a.person) return `${a.person.name} ${a.person.code}`;
  return a.unit ? a.unit.name : a.kind || "—";
}

function badge(status) {
  return el("span", { class: "badge", style: `background:${STATUS_COLOURS[status]}` }, t(status));
}

function query() {
  const q = new URLSearchParams({ limit: "300" });
  (state.tab === "open" ? OPEN : [state.tab]).forEach((s) => q.append("status", s));
  if ($("f-category").value) q.set("category", $("f-category").value);
  if ($("f-grid").value.trim()) q.set("grid", $("f-grid").value.trim());
  if ($("f-officer").value.trim()) q.set("officer", $("f-officer").value.trim());
  if ($("f-overdue").checked) q.set("overdue", "true");
  return q;
}

async function loadQueue() {
  try {
    const data = await api(`/api/v1/cases?${query()}`);
    const fresh = state.known.size ? data.cases.filter((c) => !state.known.has(c.id)) : [];
    data.cases.forEach((c) => state.known.add(c.id));
    state.cases = data.cases;
    state.counts = data.counts;
    say("");
    renderTabs();
    renderQueue(new Set(fresh.map((c) => c.id)));
    renderMarkers();
  } catch (error) { say(error.message); }
}

function renderTabs() {
  const open = OPEN.reduce((n, s) => n + (state.counts[s] || 0), 0);
  $("tabs").replaceChildren(...TABS.map((tab) => el("button", {
    type: "button", role: "tab", "aria-selected": String(state.tab === tab), "data-tab": tab,
    onclick: () => { state.tab = tab; loadQueue(); },
  }, t(tab), el("b", {}, tab === "open" ? open : state.counts[tab] || 0))));
}

function renderQueue(fresh = new Set()) {
  const body = $("queue").querySelector("tbody");
  body.replaceChildren();
  $("empty").hidden = state.cases.length > 0;
  $("total").textContent = t("cases_n", { n: state.cases.length });
  for (const c of state.cases) {
    const due = countdown(c.deadlines.next);
    const row = el("tr", { "data-id": c.id, class: [due.late ? "overdue" : "", state.selected === c.id ? "selected" : "", fresh.has(c.id) ? "fresh" : ""].join(" ").trim(), onclick: () => select(c.id) },
      el("td", {}, c.id),
      el("td", {}, getLang() === "en" ? c.category.name_en || c.category.name : c.category.name),
      el("td", {}, badge(c.status)),
      el("td", {}, c.routing.grid ? `${c.routing.grid.name} ${c.routing.grid.code}` : "—"),
      el("td", {}, assignee(c)),
      el("td", { class: "due", "data-next": c.deadlines.next || "" }, due.text));
    body.append(row);
  }
}

function tick() { // the countdowns, once a second (no request)
  document.querySelectorAll("#queue td.due, #detail .due").forEach((cell) => {
    const due = countdown(cell.dataset.next || null);
    cell.textContent = due.text;
    cell.closest("tr")?.classList.toggle("overdue", due.late);
  });
}

function renderMarkers() {
  caseLayer.clearLayers();
  state.markers = {};
  const points = [];
  for (const c of state.cases) {
    const at = toMap(c.lat, c.lon);
    const marker = L.marker(at, { icon: dot(c.status), title: `#${c.id}` })
      .bindTooltip(`#${c.id} ${c.category.name} · ${t(c.status)}`)
      .on("click", () => select(c.id));
    caseLayer.addLayer(marker);
    state.markers[c.id] = marker;
    points.push(at);
  }
  if (points.length && !state.fitted) { map.fitBounds(points, { maxZoom: 15, padding: [30, 30] }); state.fitted = true; }
}

async function loadGrids() {
  // towns when zoomed out, the grids of the visible area when zoomed in
  const b = map.getBounds();
  const bbox = [b.getWest() - 0.01, b.getSouth() - 0.01, b.getEast() + 0.01, b.getNorth() + 0.01].map((v) => v.toFixed(5)).join(",");
  const level = map.getZoom() < 13 ? "town" : "grid";
  try {
    const data = await api(`/api/v1/grids?level=${level}&bbox=${bbox}&limit=3000&precision=5`);
    gridLayer.clearLayers();
    gridLayer.addData(shiftGeoJSON(data));
  } catch (error) { say(error.message); }
}

async function loadBuildings() {
  try {
    buildingLayer.clearLayers();
    buildingLayer.addData(shiftGeoJSON(await api("/api/v1/buildings")));
  } catch (error) { buildingLayer.clearLayers(); } // a role that sees no buildings: no layer
}

async function loadHotspots() {
  try {
    const data = await api("/api/v1/hotspots?res=8&k=1");
    data.features = data.features.filter((f) => f.properties.gi_bin !== 0);
    hotLayer.clearLayers();
    hotLayer.addData(shiftGeoJSON(data));
    hotLayer.bringToBack();
  } catch (error) { hotLayer.clearLayers(); } // too few reports for Gi*: no layer, no noise
}

// ---- the case panel ------------------------------------------------------------------------
async function select(id, { pan = true } = {}) {
  state.selected = id;
  renderQueue();
  try {
    const [c, history] = await Promise.all([api(`/api/v1/cases/${id}`), api(`/api/v1/cases/${id}/history`)]);
    state.current = c;
    if (pan) map.panTo(toMap(c.lat, c.lon), { animate: false });
    await renderDetail(c, history);
  } catch (error) { say(error.message); }
}

async function renderDetail(c, history) {
  const panel = $("detail-body");
  const due = countdown(c.deadlines.next);
  const facts = el("dl", {},
    el("dt", {}, t("description")), el("dd", {}, c.description || t("no_description")),
    el("dt", {}, t("grid")), el("dd", {}, [c.routing.town?.name, c.routing.grid?.name, c.routing.grid?.code].filter(Boolean).join(" · ")),
    el("dt", {}, t("assignee")), el("dd", {}, assignee(c)),
    el("dt", {}, t("department")), el("dd", {}, c.department ? c.department.name : "—"),
    el("dt", {}, t("reporter")), el("dd", {}, c.reporter && c.reporter.pseudonym ? c.reporter.pseudonym : "—"),
    el("dt", {}, t("due")), el("dd", { class: `due ${due.late ? "late" : ""}`, "data-next": c.deadlines.next || "" }, due.text));
  const reasons = el("ul", { class: "reasons" }, (c.routing.reasons || []).map((r) => el("li", {}, r)));
  const photos = el("div", { class: "photos" });
  const actions = el("div", { class: "actions" }, (NEXT_ACTIONS[c.status] || []).map((action) =>
    el("button", { type: "button", "data-action": action, onclick: () => ask(c, action) }, t(action))));
  const form = el("div", { id: "action-form" });
  const duplicates = el("div", { class: "duplicates" });
  const talk = el("div", { class: "conversation" });
  const audit = el("ol", { class: "audit" }, history.map((h) =>
    el("li", {}, `${when(h.at)} · ${h.action} ${h.from ? t(h.from) + " → " : ""}${t(h.to)} (${h.actor_role})${h.note ? " — " + h.note : ""}`)));
  panel.replaceChildren(...[
    el("h2", {}, `#${c.id} ${c.category.name} `, badge(c.status)), facts,
    el("h3", {}, t("why_here")), reasons, actions, form,
    c.photos.length ? el("h3", {}, t("photos")) : null, photos,
    el("h3", {}, t("duplicates")), duplicates, talk, el("h3", {}, t("audit")), audit].filter(Boolean));
  $("detail").hidden = false;
  showPhotos(photos, c.photos, (e) => say(e.message));
  conversation(talk, c, () => select(c.id, { pan: false })).catch((e) => say(e.message));
  showDuplicates(duplicates, c).catch((e) => say(e.message));
}

async function showDuplicates(container, c) {
  if (!["routed", "acknowledged", "verified"].includes(c.status)) { container.replaceChildren(); return; }
  const q = new URLSearchParams({ lat: c.lat, lon: c.lon, category: c.category.code });
  const found = (await api(`/api/v1/cases/nearby?${q}`)).filter((d) => d.id !== c.id);
  container.replaceChildren(found.length ? el("ul", {}, found.map((d) => el("li", {},
    `#${d.id} · ${t(d.status)} · ${t("metres", { m: Math.round(d.distance_m) })} · ${when(d.reported_at)} `,
    el("button", { type: "button", class: "secondary merge", onclick: () => run(c, "merge", { duplicate_of: d.id }) }, t("merge_into", { id: d.id }))))) : el("p", { class: "muted" }, t("none_nearby")));
}

function ask(c, action) {
  const fields = FIELDS[action];
  if (!fields) { run(c, action, {}); return; }
  const inputs = fields.map(([name, label, required]) => el("input", { name, placeholder: t(label), "aria-label": t(label), required: !!required }));
  const form = el("form", { class: "action-form", "data-for": action, onsubmit: (event) => {
    event.preventDefault();
    const body = {};
    inputs.forEach((input) => { if (input.value.trim()) body[input.name] = input.value.trim(); });
    run(c, action, body);
  } }, inputs, el("button", { type: "submit" }, t("confirm")), el("button", { type: "button", class: "secondary", onclick: () => $("action-form").replaceChildren() }, t("cancel")));
  $("action-form").replaceChildren(form);
  inputs[0].focus();
}

async function run(c, action, body) {
  try {
    await act(c, action, body);
    notice("");
    say("");
    await Promise.all([loadQueue(), select(c.id, { pan: false })]);
  } catch (error) {
    const lost = lostRace(error);
    if (lost) notice(lost, () => Promise.all([loadQueue(), select(c.id, { pan: false })]));
    else say(error.message);
  }
}

// ---- live ----------------------------------------------------------------------------------
const refresh = debounce(async (caseIds) => {
  await loadQueue();
  if (state.selected && caseIds.has(state.selected) && !$("detail").hidden) {
    const typing = document.activeElement && ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName) && $("detail").contains(document.activeElement);
    if (!typing) await select(state.selected, { pan: false });
  }
}, 120);
// the staffing board of a major-event operation (重大活动安保), pushed on every check-in,
// roster change and the closing: one line per operation, each point a coloured dot
const boards = {};
const STATE_COLOURS = { staffed: "#2e7d32", understaffed: "#f9a825", empty: "#c62828", off: "#9e9e9e" };
function renderStaffing(data) {
  boards[data.operation] = data;
  const box = $("staffing");
  box.replaceChildren(...Object.values(boards).map((b) => el("p", { class: "staffing", "data-operation": b.operation },
    el("strong", {}, `${b.name} `),
    `${b.status === "closed" ? t("op_closed") : (b.shift || "—")} · `,
    t("op_counts", { s: b.counts.staffed, u: b.counts.understaffed, e: b.counts.empty }), " ",
    ...b.points.map((p) => el("span", { class: "point", title: `${p.point} ${p.name}: ${p.present}/${p.headcount} (${t("op_" + p.state)})`, style: `color:${STATE_COLOURS[p.state]}`, "data-state": p.state }, "●")),
  )));
  box.hidden = false;
}

let pending = new Set();
live((kind, data) => {
  if (kind === "operation.staffing") { renderStaffing(data); return; }
  if (data.case_id) pending.add(data.case_id);
  if (kind === "case.created" && data.case_id) say(t("new_case", { id: data.case_id }));
  const ids = pending;
  pending = new Set();
  refresh(ids);
}, (on) => $("live").classList.toggle("on", on));

// ---- keys ----------------------------------------------------------------------------------
function move(step) {
  if (!state.cases.length) return;
  const at = state.cases.findIndex((c) => c.id === state.selected);
  const next = state.cases[Math.max(0, Math.min(state.cases.length - 1, at < 0 ? 0 : at + step))];
  state.selected = next.id;
  renderQueue();
  document.querySelector(`#queue tr[data-id="${next.id}"]`)?.scrollIntoView({ block: "nearest" });
  if (!$("detail").hidden) select(next.id);
}
document.addEventListener("keydown", (event) => {
  if (["INPUT", "TEXTAREA", "SELECT"].includes(event.target.tagName) || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.key === "Enter" && ["BUTTON", "A"].includes(event.target.tagName)) return; // its own click
  if (event.key === "j" || event.key === "ArrowDown") { move(1); event.preventDefault(); }
  else if (event.key === "k" || event.key === "ArrowUp") { move(-1); event.preventDefault(); }
  else if ((event.key === "Enter" || event.key === "o") && state.selected) select(state.selected);
  else if (event.key === "a" && state.selected) {
    const c = state.cases.find((x) => x.id === state.selected);
    if (c && c.status === "routed") run(c, "acknowledge", {});
  } else if (event.key === "Escape") closeDetail();
});

function closeDetail() { $("detail").hidden = true; renderQueue(); }

// ---- start ---------------------------------------------------------------------------------
function applyLang() {
  $("lang").textContent = getLang() === "zh" ? "EN" : "中文";
  translatePage();
  renderTabs();
  renderQueue();
  if (state.current && !$("detail").hidden) select(state.current.id, { pan: false });
}
$("lang").addEventListener("click", () => { setLang(getLang() === "zh" ? "en" : "zh"); applyLang(); });
$("signout").addEventListener("click", signOut);
$("close-detail").addEventListener("click", closeDetail);
$("filters").addEventListener("change", loadQueue);
$("filters").addEventListener("submit", (event) => { event.preventDefault(); loadQueue(); });
$("who").textContent = config.user ? `${config.user.name} (${config.user.role})` : "";
window.addEventListener("resize", () => map.invalidateSize());
map.on("moveend", loadGrids);
setInterval(tick, 1000);
api("/open311/v2/services.json").then((services) => {
  for (const s of services) $("f-category").append(el("option", { value: s.service_code }, s.service_name));
}).catch((e) => say(e.message));
setLang(getLang());
applyLang();
loadQueue().then(loadGrids);
loadHotspots();
loadBuildings();
