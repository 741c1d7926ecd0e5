// The reporter's phone page (随手拍): photo, position (with its datum), category, submit —
// safe to retry — and "my reports", each step in plain words (件件有回音), the
// conversation and the rewards earned.
import { addWords, api, conversation, debounce, el, getLang, live, setLang, signOut, t, translatePage, when } from "/static/common/gw.js";

addWords({
  report_title: { zh: "随手拍", en: "Report a problem" }, live: { zh: "实时", en: "live" },
  sign_out: { zh: "退出", en: "Sign out" }, tab_new: { zh: "我要报告", en: "New report" },
  tab_mine: { zh: "我的报告", en: "My reports" }, photo: { zh: "照片", en: "Photo" },
  position: { zh: "位置", en: "Position" }, use_my_position: { zh: "使用我的位置", en: "Use my position" },
  lat: { zh: "纬度", en: "latitude" }, lon: { zh: "经度", en: "longitude" },
  crs_wgs84: { zh: "手机定位 (WGS-84)", en: "Phone GPS (WGS-84)" },
  crs_gcj02: { zh: "从高德/腾讯/微信复制 (GCJ-02)", en: "Copied from Amap/Tencent/WeChat (GCJ-02)" },
  category: { zh: "类别", en: "Category" }, description: { zh: "描述", en: "Description" },
  submit: { zh: "提交", en: "Submit" }, sending: { zh: "正在提交…", en: "Sending…" },
  sent: { zh: "已提交，案件编号 #{id}", en: "Sent: case #{id}" }, located: { zh: "已定位（±{m} 米）", en: "Located (±{m} m)" },
  locating: { zh: "正在定位…", en: "Locating…" },
  no_position: { zh: "无法定位（{why}）：请允许定位，或手动填写坐标", en: "No position ({why}): allow location, or type the coordinates" },
  no_reports: { zh: "还没有报告", en: "No reports yet" }, rewards: { zh: "已获奖励：红包 ¥{y} · 积分 {p}", en: "Rewards earned: ¥{y} · {p} points" },
  reward: { zh: "红包 ¥{y} · 积分 {p}", en: "¥{y} · {p} points" }, talk: { zh: "沟通", en: "Conversation" },
  merged: { zh: "与 #{id} 为同一问题，随其办理", en: "Same problem as #{id}; follows its handling" },
  offline: { zh: "网络中断，可直接重试（不会重复提交）", en: "Connection lost: retry safely (it will not be sent twice)" },
});

const $ = (id) => document.getElementById(id);
const state = { key: null, open: new Set(), cases: [] };

function say(text) { $("message").textContent = text || ""; }

function newKey() { // an Idempotency-Key: retries of one report create one case
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function show(tab) {
  $("tab-new").setAttribute("aria-selected", String(tab === "new"));
  $("tab-mine").setAttribute("aria-selected", String(tab === "mine"));
  $("new").hidden = tab !== "new";
  $("mine").hidden = tab !== "mine";
  if (tab === "mine") loadMine();
}

$("locate").addEventListener("click", () => {
  $("position-status").textContent = t("locating");
  navigator.geolocation.getCurrentPosition((p) => {
    $("lat").value = p.coords.latitude.toFixed(6);
    $("lon").value = p.coords.longitude.toFixed(6);
    $("crs").value = "wgs84"; // what a browser reports
    $("position-status").textContent = t("located", { m: Math.round(p.coords.accuracy) });
  }, (e) => { $("position-status").textContent = t("no_position", { why: e.message || e.code }); },
  { enableHighAccuracy: true, timeout: 15000 });
});

$("report").addEventListener("input", () => { state.key = null; }); // a changed report is a new one
$("report").addEventListener("submit", async (event) => {
  event.preventDefault();
  const report = {
    lat: Number($("lat").value), lon: Number($("lon").value), crs: $("crs").value,
    category: $("category").value, description: $("description").value, source: "app",
  };
  const form = new FormData();
  form.append("report", JSON.stringify(report));
  for (const file of $("photos").files) form.append("photos", file, file.name);
  state.key = state.key || newKey();
  $("submit").disabled = true;
  say(t("sending"));
  try {
    const created = await api("/api/v1/cases", { method: "POST", form, headers: { "Idempotency-Key": state.key } });
    state.key = null;
    $("report").reset();
    $("position-status").textContent = "";
    say(t("sent", { id: created.id }));
    show("mine");
  } catch (error) {
    say(error instanceof TypeError ? t("offline") : error.message);
  } finally { $("submit").disabled = false; }
});

async function loadMine() {
  try {
    state.cases = await api("/api/v1/my/cases");
    renderMine();
  } catch (error) { say(error.message); }
}

function renderMine() {
  const cases = state.cases;
  $("none").hidden = cases.length > 0;
  const yuan = cases.reduce((s, c) => s + (c.reward ? Number(c.reward.yuan) : 0), 0);
  const points = cases.reduce((s, c) => s + (c.reward ? c.reward.points : 0), 0);
  $("rewards").textContent = t("rewards", { y: yuan.toFixed(2), p: points });
  $("my-cases").replaceChildren(...cases.map((c) => {
    const talk = el("div", { class: "conversation", "data-case": c.id });
    const card = el("li", { "data-id": c.id },
      el("div", { class: "line" }, el("b", {}, `#${c.id} ${c.category.name}`), el("span", { class: "status" }, t(c.status))),
      el("p", { class: "muted" }, `${when(c.reported_at)} · ${c.description || ""}`),
      c.duplicate_of ? el("p", {}, t("merged", { id: c.duplicate_of })) : null,
      el("ol", { class: "steps" }, c.steps.map((s) => el("li", {}, el("time", {}, when(s.at)), s.note))),
      c.reward ? el("p", { class: "reward" }, t("reward", { y: c.reward.yuan, p: c.reward.points })) : null,
      el("button", { type: "button", class: "secondary talk", onclick: () => toggleTalk(c, talk) }, t("talk")), talk);
    if (state.open.has(c.id)) conversation(talk, c, loadMine).catch((e) => say(e.message));
    return card;
  }));
}

function toggleTalk(c, container) {
  if (state.open.has(c.id)) { state.open.delete(c.id); container.replaceChildren(); return; }
  state.open.add(c.id);
  conversation(container, c, loadMine).catch((e) => say(e.message));
}

const refresh = debounce(() => { if (!$("mine").hidden) loadMine(); }, 150);
live(() => refresh(), (on) => $("live").classList.toggle("on", on));

function applyLang() {
  $("lang").textContent = getLang() === "zh" ? "EN" : "中文";
  translatePage();
  if (!$("mine").hidden) renderMine();
}
$("lang").addEventListener("click", () => { setLang(getLang() === "zh" ? "en" : "zh"); applyLang(); });
$("signout").addEventListener("click", signOut);
$("tab-new").addEventListener("click", () => show("new"));
$("tab-mine").addEventListener("click", () => show("mine"));
api("/open311/v2/services.json").then((services) => {
  for (const s of services) $("category").append(el("option", { value: s.service_code }, s.service_name));
}).catch((e) => say(e.message));
setLang(getLang());
applyLang();
