// The grid officer's phone page: my open cases by deadline, a small map, the case with its
// photos and conversation, and the officer's actions (verify with the phone's position).
import {
  act, addWords, api, conversation, countdown, debounce, dot, el, getLang, live, lostRace, makeMap,
  setLang, showPhotos, signOut, STATUS_COLOURS, t, toMap, translatePage, when,
} from "/static/common/gw.js";

addWords({
  officer_title: { zh: "我的案件", en: "My cases" }, live: { zh: "实时", en: "live" },
  sign_out: { zh: "退出", en: "Sign out" }, back: { zh: "返回", en: "Back" },
  no_open_cases: { zh: "没有待办案件", en: "No open cases" },
  acknowledge: { zh: "受理", en: "Acknowledge" }, verify_valid: { zh: "现场核实：属实", en: "Verify on site: valid" },
  verify_invalid: { zh: "现场核实：不属实", en: "Verify on site: not valid" },
  start: { zh: "开始处置", en: "Start" }, resolve: { zh: "处置完毕", en: "Resolve" },
  add_photos: { zh: "添加照片", en: "Add photos" }, what_done: { zh: "处置情况", en: "What was done" },
  reason: { zh: "原因", en: "Reason" }, invalid: { zh: "不属实", en: "invalid" }, duplicate: { zh: "重复", en: "duplicate" },
  not_ours: { zh: "非本部门", en: "not ours" }, locating: { zh: "正在获取位置…", en: "Getting your position…" },
  no_position: { zh: "无法获取位置（{why}）：请允许本页面使用定位后重试", en: "Cannot get your position ({why}): allow this page to use your location and try again" },
  photos_added: { zh: "已添加 {n} 张照片", en: "{n} photo(s) added" }, done: { zh: "已完成：{a}", en: "Done: {a}" },
  reporter: { zh: "上报人", en: "Reporter" }, description: { zh: "描述", en: "Description" },
});

const OPEN = ["routed", "acknowledged", "verified", "in_progress"];
const state = { cases: [], current: null, markers: L.layerGroup() };
const $ = (id) => document.getElementById(id);
const map = makeMap($("map"), { zoomControl: false, attributionControl: false });
state.markers.addTo(map);

function say(text) { $("message").textContent = text || ""; }

async function loadCases() {
  const q = new URLSearchParams({ limit: "100" });
  OPEN.forEach((s) => q.append("status", s));
  try {
    state.cases = (await api(`/api/v1/cases?${q}`)).cases;
    renderList();
  } catch (error) { say(error.message); }
}

function renderList() {
  $("empty").hidden = state.cases.length > 0;
  $("cases").replaceChildren(...state.cases.map((c) => {
    const due = countdown(c.deadlines.next);
    return el("li", { class: due.late ? "late" : "", "data-id": c.id, onclick: () => openCase(c.id) },
      el("div", { class: "line" }, el("b", {}, `#${c.id} ${c.category.name}`),
        el("span", { class: "badge", style: `background:${STATUS_COLOURS[c.status]}` }, t(c.status))),
      el("div", { class: "line" }, el("span", { class: "muted" }, c.routing.grid ? c.routing.grid.name : ""),
        el("span", { class: `due ${due.late ? "late" : ""}`, "data-next": c.deadlines.next || "" }, due.text)));
  }));
  state.markers.clearLayers();
  const points = state.cases.map((c) => {
    const at = toMap(c.lat, c.lon);
    L.marker(at, { icon: dot(c.status) }).on("click", () => openCase(c.id)).addTo(state.markers);
    return at;
  });
  if (points.length) map.fitBounds(points, { maxZoom: 16, padding: [20, 20] });
}

async function openCase(id) {
  try {
    const c = await api(`/api/v1/cases/${id}`);
    state.current = c;
    $("list").hidden = true;
    $("case").hidden = false;
    map.setView(toMap(c.lat, c.lon), 17);
    renderCase(c);
  } catch (error) { say(error.message); }
}

function renderCase(c) {
  const due = countdown(c.deadlines.next);
  const photos = el("div", { class: "photos" });
  const talk = el("div", { class: "conversation" });
  const form = el("div", { id: "action-form" });
  $("case-body").replaceChildren(
    el("h2", {}, `#${c.id} ${c.category.name} `, el("span", { class: "badge", style: `background:${STATUS_COLOURS[c.status]}` }, t(c.status))),
    el("p", { class: `due ${due.late ? "late" : ""}`, "data-next": c.deadlines.next || "" }, due.text),
    el("p", {}, c.description || "—"),
    el("p", { class: "muted" }, `${t("reporter")}: ${c.reporter ? c.reporter.pseudonym : "—"} · ${when(c.reported_at)}`),
    photos, el("div", { class: "big-actions" }, actionsFor(c)), form, talk);
  showPhotos(photos, c.photos, (e) => say(e.message));
  conversation(talk, c, () => openCase(c.id)).catch((e) => say(e.message));
}

function actionsFor(c) {
  const button = (key, onclick) => el("button", { type: "button", "data-action": key, onclick }, t(key));
  const photoInput = el("input", { type: "file", accept: "image/*", capture: "environment", multiple: true, hidden: true, onchange: () => addPhotos(c, photoInput) });
  const buttons = {
    routed: [button("acknowledge", () => run(c, "acknowledge", {}))],
    acknowledged: [button("verify_valid", () => verify(c, true)), button("verify_invalid", () => askReason(c))],
    verified: [button("start", () => run(c, "start", {}))],
    in_progress: [button("resolve", () => askResolve(c))],
  }[c.status] || [];
  return [...buttons, photoInput, el("button", { type: "button", class: "secondary", "data-action": "add_photos", onclick: () => photoInput.click() }, t("add_photos"))];
}

function position() {
  return new Promise((resolve, reject) => {
    if (!navigator.geolocation) { reject(new Error(t("no_position", { why: "no GPS" }))); return; }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve(p.coords),
      (e) => reject(new Error(t("no_position", { why: e.message || e.code }))),
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 10000 });
  });
}

async function verify(c, valid, reason) {
  say(t("locating"));
  try {
    const coords = await position();
    // the browser's position is WGS-84
    await run(c, "verify", { valid, reason, lat: coords.latitude, lon: coords.longitude, crs: "wgs84" });
  } catch (error) { say(error.message); }
}

function askReason(c) {
  const select = el("select", { name: "reason", "aria-label": t("reason") },
    ["invalid", "duplicate", "not_ours"].map((r) => el("option", { value: r }, t(r))));
  $("action-form").replaceChildren(el("form", { class: "field", onsubmit: (e) => { e.preventDefault(); verify(c, false, select.value); } },
    el("label", {}, t("reason")), select, el("button", { type: "submit" }, t("verify_invalid"))));
}

function askResolve(c) {
  const note = el("textarea", { name: "note", rows: 3, required: true, "aria-label": t("what_done") });
  $("action-form").replaceChildren(el("form", { class: "field", onsubmit: (e) => { e.preventDefault(); run(c, "resolve", { note: note.value }); } },
    el("label", {}, t("what_done")), note, el("button", { type: "submit" }, t("resolve"))));
  note.focus();
}

async function addPhotos(c, input) {
  if (!input.files.length) return;
  const form = new FormData();
  for (const file of input.files) form.append("photos", file, file.name);
  form.append("kind", c.status === "in_progress" ? "resolution" : "site");
  try {
    const added = await api(`/api/v1/cases/${c.id}/photos`, { method: "POST", form });
    say(t("photos_added", { n: added.length }));
    await openCase(c.id);
  } catch (error) { say(error.message); }
}

async function run(c, action, body) {
  try {
    const updated = await act(c, action, body);
    say(t("done", { a: t(action === "verify" ? (body.valid ? "verify_valid" : "verify_invalid") : action) }));
    state.current = updated;
    renderCase(updated);
    loadCases();
  } catch (error) {
    const lost = lostRace(error);
    say(lost || error.message);
    if (lost) openCase(c.id);
  }
}

const refresh = debounce(async (ids) => {
  await loadCases();
  const typing = document.activeElement && ["TEXTAREA", "INPUT"].includes(document.activeElement.tagName);
  if (state.current && !$("case").hidden && ids.has(state.current.id) && !typing) {
    try { await openCase(state.current.id); } catch (error) { say(error.message); }
  }
}, 150);
let pending = new Set();
live((kind, data) => {
  if (data.case_id) pending.add(data.case_id);
  const ids = pending;
  pending = new Set();
  refresh(ids);
}, (on) => $("live").classList.toggle("on", on));

function applyLang() {
  $("lang").textContent = getLang() === "zh" ? "EN" : "中文";
  translatePage();
  renderList();
  if (state.current && !$("case").hidden) renderCase(state.current);
}
$("lang").addEventListener("click", () => { setLang(getLang() === "zh" ? "en" : "zh"); applyLang(); });
$("signout").addEventListener("click", signOut);
$("back").addEventListener("click", () => { $("case").hidden = true; $("list").hidden = false; state.current = null; say(""); loadCases(); });
setInterval(() => document.querySelectorAll(".due").forEach((node) => {
  const due = countdown(node.dataset.next || null);
  node.textContent = due.text;
  node.classList.toggle("late", due.late);
}), 1000);
setLang(getLang());
applyLang();
loadCases();
