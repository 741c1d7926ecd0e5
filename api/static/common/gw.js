// What the three faces share: the session, the API, live events, the map, words in zh/en.
const COOKIE = "gridwatch_token";
export const config = window.GRIDWATCH || { user: null, basemap: null, crs: "wgs84" };

export function token() {
  const found = document.cookie.split("; ").find((c) => c.startsWith(COOKIE + "="));
  return found ? decodeURIComponent(found.slice(COOKIE.length + 1)) : "";
}

export function signIn(value) {
  document.cookie = `${COOKIE}=${encodeURIComponent(value)}; path=/; SameSite=Strict; max-age=${30 * 86400}`;
}

export function signOut() {
  document.cookie = `${COOKIE}=; path=/; SameSite=Strict; max-age=0`;
  location.reload();
}

// ---- words -------------------------------------------------------------------------------
let lang = localStorage.getItem("gridwatch.lang") || "zh";
export const getLang = () => lang;
export function setLang(value) { lang = value; localStorage.setItem("gridwatch.lang", value); document.documentElement.lang = value === "zh" ? "zh-CN" : "en"; }
let words = {};
export function addWords(table) { words = { ...words, ...table }; }
// t("key", {n: 3}) → the word in the current language, with {n} filled in
export function t(key, values = {}) {
  const entry = words[key];
  let text = entry ? (entry[lang] ?? entry.zh) : key;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{${name}}`, value);
  return text;
}
export function translatePage(root = document) {
  root.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
  root.querySelectorAll("[data-t-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.tPlaceholder); });
}
addWords({
  routed: { zh: "已分派", en: "routed" }, reported: { zh: "已上报", en: "reported" },
  acknowledged: { zh: "已受理", en: "acknowledged" }, verified: { zh: "已核实", en: "verified" },
  in_progress: { zh: "处置中", en: "in progress" }, resolved: { zh: "已处置", en: "resolved" },
  closed: { zh: "已办结", en: "closed" }, rejected: { zh: "不予立案", en: "rejected" },
  overdue: { zh: "超时 {d}", en: "overdue {d}" }, left: { zh: "剩 {d}", en: "{d} left" },
  lost_race: { zh: "该案件已被 {by} 于 {at} 修改 — 请重新加载", en: "changed by {by} at {at} — reload" },
  reload: { zh: "重新加载", en: "Reload" },
});

// ---- the API -----------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(path, { method = "GET", json, form, headers = {} } = {}) {
  const options = { method, headers: { Authorization: `Bearer ${token()}`, ...headers } };
  if (json !== undefined) { options.body = JSON.stringify(json); options.headers["Content-Type"] = "application/json"; }
  if (form !== undefined) options.body = form;
  const response = await fetch(path, options);
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

// An action on a case with the version the page saw: a lost race throws with who won.
export function act(item, action, body = {}) {
  return api(`/api/v1/cases/${item.id}/${action}`, { method: "POST", json: body, headers: { "If-Match": String(item.version) } });
}

export function lostRace(error) {
  return error instanceof ApiError && error.status === 409 && error.body.changed_by
    ? t("lost_race", { by: error.body.changed_by, at: when(error.body.changed_at) }) : null;
}

// Photos need the token: fetched once each and shown from memory.
const photoUrls = new Map();
export async function photoUrl(url) {
  if (!photoUrls.has(url)) {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token()}` } });
    if (!response.ok) throw new ApiError(response.status, null);
    photoUrls.set(url, URL.createObjectURL(await response.blob()));
  }
  return photoUrls.get(url);
}

// Thumbnails of a case's photos; a click shows one large.
export function showPhotos(container, photos, onError) {
  for (const p of photos) {
    photoUrl(p.url).then((src) => container.append(el("img", { src, alt: `${p.kind} ${p.id}`, onclick: () => enlarge(src) }))).catch(onError);
  }
}

function enlarge(src) {
  const box = el("div", { class: "lightbox", onclick: () => box.remove() }, el("img", { src, alt: "photo" }));
  document.body.append(box);
}

// ---- live events -------------------------------------------------------------------------
// One EventSource per page: the browser reconnects by itself and sends Last-Event-ID.
export function live(onEvent, onState = () => {}) {
  const source = new EventSource("/api/v1/events");
  const kinds = ["ready", "reset", "case.created", "case.changed", "case.escalated", "case.message", "operation.staffing"];
  for (const kind of kinds) {
    source.addEventListener(kind, (message) => onEvent(kind, JSON.parse(message.data || "{}")));
  }
  source.addEventListener("open", () => onState(true));
  source.addEventListener("error", () => onState(false));
  return source;
}

// Call fn at most once per `ms`, after the last call (many events → one reload).
export function debounce(fn, ms = 150) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

// ---- time --------------------------------------------------------------------------------
export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

function span(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  const hms = [Math.floor(s / 3600) % 24, Math.floor(s / 60) % 60, s % 60].map((v) => String(v).padStart(2, "0")).join(":");
  return d ? `${d}d ${hms}` : hms;
}

// "超时 01:02:03" or "剩 00:12:00" for the next deadline of a case, and whether it is late
export function countdown(next, now = Date.now()) {
  if (!next) return { text: "—", late: false };
  const ms = new Date(next) - now;
  return { text: t(ms < 0 ? "overdue" : "left", { d: span(ms) }), late: ms < 0 };
}

// ---- the map -----------------------------------------------------------------------------
// GCJ-02 basemaps (Amap, Tencent): every overlay is shifted the way their tiles are.
const A = 6378245.0, EE = 0.00669342162296594323;
function shiftLat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
  r += (20 * Math.sin(y * Math.PI) + 40 * Math.sin(y / 3 * Math.PI)) * 2 / 3;
  r += (160 * Math.sin(y / 12 * Math.PI) + 320 * Math.sin(y * Math.PI / 30)) * 2 / 3;
  return r;
}
function shiftLon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += (20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2 / 3;
  r += (20 * Math.sin(x * Math.PI) + 40 * Math.sin(x / 3 * Math.PI)) * 2 / 3;
  r += (150 * Math.sin(x / 12 * Math.PI) + 300 * Math.sin(x / 30 * Math.PI)) * 2 / 3;
  return r;
}
export function wgs84ToGcj02(lat, lon) {
  const x = lon - 105, y = lat - 35;
  const rad = lat / 180 * Math.PI;
  let magic = Math.sin(rad);
  magic = 1 - EE * magic * magic;
  const sq = Math.sqrt(magic);
  const dLat = (shiftLat(x, y) * 180) / ((A * (1 - EE)) / (magic * sq) * Math.PI);
  const dLon = (shiftLon(x, y) * 180) / (A / sq * Math.cos(rad) * Math.PI);
  return [lat + dLat, lon + dLon];
}
// [lat, lon] in WGS-84 → where to draw it on this page's basemap
export function toMap(lat, lon) { return config.crs === "gcj02" ? wgs84ToGcj02(lat, lon) : [lat, lon]; }
export function shiftGeoJSON(data) {
  if (config.crs !== "gcj02") return data;
  const walk = (c) => (typeof c[0] === "number" ? (([la, lo]) => [lo, la])(wgs84ToGcj02(c[1], c[0])) : c.map(walk));
  for (const feature of data.features || []) if (feature.geometry) feature.geometry.coordinates = walk(feature.geometry.coordinates);
  return data;
}

export function makeMap(element, options = {}) {
  const map = L.map(element, { maxZoom: 19, ...options }).setView(toMap(23.02, 113.75), 11);
  const base = config.basemap;
  if (base) {
    const bounds = base.bounds ? L.latLngBounds([base.bounds[1], base.bounds[0]], [base.bounds[3], base.bounds[2]]) : undefined;
    L.tileLayer(base.url, {
      attribution: base.attribution || "", maxZoom: 19, minNativeZoom: base.minNativeZoom, maxNativeZoom: base.maxNativeZoom, bounds,
    }).addTo(map);
  } else {
    element.classList.add("no-basemap");
  }
  return map;
}

export const STATUS_COLOURS = {
  routed: "#d97706", reported: "#d97706", acknowledged: "#2563eb", verified: "#7c3aed", in_progress: "#0891b2",
  resolved: "#16a34a", closed: "#6b7280", rejected: "#9ca3af",
};

export function dot(status) {
  return L.divIcon({ className: "gw-dot", html: `<span style="background:${STATUS_COLOURS[status] || "#555"}"></span>`, iconSize: [14, 14] });
}

// ---- small DOM helpers -------------------------------------------------------------------
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

// The conversation of a case: messages and a box to write one (a draft survives the
// page redrawing itself when a live change arrives).
const drafts = new Map();
export async function conversation(container, item, onSent = () => {}) {
  const messages = await api(`/api/v1/cases/${item.id}/messages`);
  const list = el("ol", { class: "messages" }, messages.map((m) =>
    el("li", { class: m.mine ? "mine" : m.side }, el("b", {}, m.author), " ", el("time", {}, when(m.at)), el("p", {}, m.body))));
  const input = el("textarea", { rows: 2, maxlength: 2000, placeholder: t("write_message"), "aria-label": t("write_message"),
    oninput: () => drafts.set(item.id, input.value) });
  input.value = drafts.get(item.id) || "";
  const status = el("span", { class: "status", role: "status" });
  const form = el("form", { class: "message-form", onsubmit: async (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    try {
      await api(`/api/v1/cases/${item.id}/messages`, { method: "POST", json: { body: input.value } });
      input.value = "";
      drafts.delete(item.id);
      onSent();
    } catch (error) { status.textContent = error.message; }
  } }, input, el("button", { type: "submit" }, t("send")), status);
  container.replaceChildren(el("h3", {}, t("conversation")), messages.length ? list : el("p", { class: "muted" }, t("no_messages")), form);
}
addWords({
  conversation: { zh: "沟通", en: "Conversation" }, send: { zh: "发送", en: "Send" },
  write_message: { zh: "写消息…", en: "Write a message…" }, no_messages: { zh: "暂无消息", en: "No messages yet" },
});
