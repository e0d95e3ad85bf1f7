// The Selfsame console. Every value that comes from the server (identifiers, properties, event names, reasons) is put
// into the page as text (textContent, createTextNode, SVG text nodes), never parsed as markup. The key lives in this
// tab's sessionStorage and goes to the server in the Authorization header only, never in a URL.
"use strict";

const KEY_SLOT = "selfsame.console.key";
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

let picked = [];        // identifiers clicked for explain, at most two
let shownProfile = null; // the profile on screen, for refreshing after an action

// ---- the page's building blocks ----------------------------------------------------------------------------------

/** An element with attributes and children; a child string becomes a text node. */
function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function fill(tableId, rows) {
  const body = $(tableId).tBodies[0];
  body.replaceChildren(...rows);
  if (rows.length === 0) {
    const columns = $(tableId).tHead.rows[0].cells.length;
    body.append(el("tr", {}, el("td", { colspan: columns, class: "empty" }, "none")));
  }
}

function say(text, isError) {
  const message = $("message");
  message.textContent = text || "";
  message.className = isError ? "error" : "";
}

const identifierText = (i) => i.type === "alias" ? `alias ${i.label}/${i.name}` : `${i.type}:${i.display ?? i.value}`;
const shortTime = (t) => t ? String(t).replace("T", " ").replace(/\.\d+/, "").replace("+00:00", "Z") : "";

// ---- talking to the server ---------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, text) { super(text); this.status = status; }
}

async function api(method, path, body) {
  const key = sessionStorage.getItem(KEY_SLOT);
  const headers = { "Authorization": "Bearer " + key, "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (!response.ok) {
    const detail = json && (json.detail || json.title) || text || response.statusText;
    throw new ApiError(response.status, `${response.status} ${detail}`);
  }
  return json;
}

function identifierQuery(prefix, i) {
  const q = new URLSearchParams();
  q.set(prefix + "type", i.type);
  if (i.type === "alias") { q.set(prefix + "label", i.label); q.set(prefix + "name", i.name); }
  else q.set(prefix + "value", i.value);
  return q;
}

const identifierBody = (i) => i.type === "alias" ? { type: "alias", label: i.label, name: i.name } : { type: i.type, value: i.value };

async function act(what, action) {
  try {
    await action();
    say(what + ": done");
  } catch (e) {
    say(what + " refused: " + e.message, true);
  }
}

// ---- signing in and out ------------------------------------------------------------------------------------------

async function signIn(key) {
  sessionStorage.setItem(KEY_SLOT, key);
  try {
    // A live key of any role reads: an identifier nobody holds answers 404; a bad key 401.
    await api("GET", "/v1/resolve?type=user_id&value=" + encodeURIComponent("selfsame-console-probe"));
  } catch (e) {
    if (e.status !== 404) {
      sessionStorage.removeItem(KEY_SLOT);
      say("Sign in refused: " + e.message, true);
      return;
    }
  }
  $("key").value = "";
  showSignedIn();
}

function showSignedIn() {
  $("signin").hidden = true;
  $("nav").hidden = false;
  show("person");
  say("Signed in.");
}

function signOut() {
  sessionStorage.removeItem(KEY_SLOT);
  // Nothing read with the key stays on the page.
  for (const body of document.querySelectorAll("tbody")) body.replaceChildren();
  for (const id of ["records", "graph", "explain-path", "explain-summary", "profile-title", "profile-summary"]) $(id).replaceChildren();
  for (const id of ["search-value", "search-label", "search-custom"]) $(id).value = "";
  $("profile").hidden = true;
  $("explain").hidden = true;
  shownProfile = null;
  picked = [];
  $("nav").hidden = true;
  for (const view of document.querySelectorAll(".view")) view.hidden = true;
  $("signin").hidden = false;
  $("key").value = "";
  say("Signed out.");
}

function show(view) {
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== view;
  for (const tab of document.querySelectorAll(".tab")) tab.classList.toggle("current", tab.dataset.view === view);
  if (view === "review") loadReview();
  if (view === "audit") loadAudit();
  if (view === "jobs") loadJobs();
}

// ---- a person ----------------------------------------------------------------------------------------------------

async function lookUp() {
  const type = $("search-type").value;
  const value = $("search-value").value.trim();
  try {
    let profileId;
    if (type === "profile") {
      if (!/^\d+$/.test(value)) {
        say("A profile id is a number.", true);
        return;
      }
      profileId = value;
    } else {
      const q = new URLSearchParams();
      q.set("type", type === "other" ? $("search-custom").value.trim() : type);
      if (type === "alias") { q.set("label", $("search-label").value); q.set("name", value); }
      else q.set("value", value);
      profileId = (await api("GET", "/v1/resolve?" + q)).profile_id;
    }
    await showProfile(profileId);
    say("");
  } catch (e) {
    $("profile").hidden = true;
    say(e.status === 404 ? "Nobody matches: " + e.message : "Look-up failed: " + e.message, true);
  }
}

async function showProfile(id) {
  const profile = await api("GET", "/v1/profiles/" + encodeURIComponent(id));
  shownProfile = profile.profile_id;
  picked = [];
  $("explain").hidden = true;
  $("profile").hidden = false;
  $("profile-title").textContent = "Profile " + profile.profile_id;
  $("profile-summary").textContent = `${profile.records.length} record(s), ${profile.identifiers.length} identifier(s), ${profile.links.length} link(s)`;
  drawGraph(profile);
  showRecords(profile);
  fill("properties", Object.entries(profile.properties).map(([key, p]) =>
    el("tr", {}, el("td", {}, key), el("td", {}, JSON.stringify(p.value)), el("td", {}, p.type), el("td", {}, "#" + p.record_id))));
  const byRecord = new Map(profile.records.map((r) => [r.record_id, r]));
  fill("links", profile.links.map((link) => el("tr", { "data-link-id": link.link_id },
    el("td", {}, "#" + link.link_id),
    el("td", {}, `#${link.from_record_id} → #${link.into_record_id}`),
    el("td", {}, link.kind + (link.explicit ? " (explicit)" : "")),
    el("td", {}, link.surface),
    el("td", {}, shortTime(link.created_at)),
    el("td", {}, unlinkButton(byRecord.get(link.from_record_id), byRecord.get(link.into_record_id))))));
  try {
    const events = await api("GET", `/v1/profiles/${encodeURIComponent(profile.profile_id)}/events?limit=20`);
    fill("events", events.events.map((e) =>
      el("tr", {}, el("td", {}, shortTime(e.time)), el("td", {}, e.event), el("td", {}, "#" + e.record_id), el("td", {}, e.surface))));
  } catch (e) {
    // The profile stays on screen; only its events could not be read.
    $("events").tBodies[0].replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "events could not be read: " + e.message)));
  }
}

function unlinkButton(from, into) {
  if (!from || !into || from.identifiers.length === 0 || into.identifiers.length === 0) return null;
  const button = el("button", { type: "button", class: "act" }, "Unlink");
  button.addEventListener("click", () => act("Unlink", async () => {
    await api("POST", "/v1/unlink", { from: identifierBody(from.identifiers[0]), into: identifierBody(into.identifiers[0]) });
    await showProfile(shownProfile);
  }));
  return button;
}

function showRecords(profile) {
  $("records").replaceChildren(...profile.records.map((record) => el("div", { class: "record", "data-record-id": record.record_id },
    el("h4", {}, `Record #${record.record_id}` + (record.record_id === profile.profile_id ? " (root)" : "")),
    el("p", { class: "hint" }, `created ${shortTime(record.created_at)}, last seen ${shortTime(record.last_seen_at)}`),
    el("ul", { class: "identifiers" }, ...record.identifiers.map((i) => {
      const chip = el("button", { type: "button", class: "identifier" }, identifierText(i));
      chip.addEventListener("click", () => pick(i, chip));
      return el("li", {}, chip);
    })))));
}

async function pick(identifier, chip) {
  if (picked.length === 2) {
    for (const other of document.querySelectorAll(".identifier.picked")) other.classList.remove("picked");
    picked = [];
  }
  picked.push(identifier);
  chip.classList.add("picked");
  if (picked.length < 2) {
    say("Now click a second identifier to explain what joins them.");
    return;
  }
  const q = new URLSearchParams([...identifierQuery("from_", picked[0]), ...identifierQuery("to_", picked[1])]);
  try {
    const explained = await api("GET", "/v1/explain?" + q);
    $("explain").hidden = false;
    $("explain-summary").textContent = explained.summary;
    $("explain-path").replaceChildren(...(explained.path || []).map((step) => el("li", {},
      `link #${step.link.link_id}: record #${step.link.from_record_id} → record #${step.link.into_record_id}, ` +
      `${step.link.kind} via ${step.link.surface}, ${shortTime(step.link.created_at)}`)));
    say("");
  } catch (e) {
    say("Explain failed: " + e.message, true);
  }
}

/** Records as circles around a ring, links as arrows from the merged record into the kept one, labelled kind, surface, time. */
function drawGraph(profile) {
  const graph = $("graph");
  const [width, height] = [640, 420];
  const records = profile.records;
  const radius = records.length === 1 ? 0 : 150;
  const at = new Map(records.map((r, index) => {
    const angle = (2 * Math.PI * index) / records.length - Math.PI / 2;
    return [r.record_id, { x: width / 2 + radius * Math.cos(angle), y: height / 2 + radius * Math.sin(angle) }];
  }));
  const defs = svg("defs");
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }));
  defs.append(marker);
  const edges = svg("g", { class: "edges" });
  const nodes = svg("g", { class: "nodes" });
  for (const link of profile.links) {
    const from = at.get(link.from_record_id), into = at.get(link.into_record_id);
    if (!from || !into) continue;
    // Stop the arrow at the circle's edge.
    const dx = into.x - from.x, dy = into.y - from.y, length = Math.hypot(dx, dy) || 1;
    const r = 26;
    const edge = svg("g", { class: "edge", "data-link-id": link.link_id });
    edge.append(svg("line", { x1: from.x + (dx / length) * r, y1: from.y + (dy / length) * r, x2: into.x - (dx / length) * r, y2: into.y - (dy / length) * r, "marker-end": "url(#arrow)" }));
    edge.append(svg("text", { x: (from.x + into.x) / 2, y: (from.y + into.y) / 2 - 6, class: "edge-label" }, `${link.kind} · ${link.surface} · ${shortTime(link.created_at)}`));
    edges.append(edge);
  }
  for (const record of records) {
    const p = at.get(record.record_id);
    const node = svg("g", { class: "node" + (record.record_id === profile.profile_id ? " root" : ""), "data-record-id": record.record_id });
    node.append(svg("circle", { cx: p.x, cy: p.y, r: 24 }));
    node.append(svg("text", { x: p.x, y: p.y + 5, class: "node-id" }, "#" + record.record_id));
    const first = record.identifiers[0];
    const label = first ? identifierText(first) : "(no identifier)";
    node.append(svg("text", { x: p.x, y: p.y + 42, class: "node-label" }, label.length > 26 ? label.slice(0, 25) + "…" : label));
    nodes.append(node);
  }
  graph.replaceChildren(defs, edges, nodes);
}

// ---- review, audit, jobs -----------------------------------------------------------------------------------------

async function loadReview() {
  const status = $("review-status").value;
  try {
    const answer = await api("GET", "/v1/review" + (status ? "?status=" + encodeURIComponent(status) : ""));
    fill("review-entries", answer.entries.map((entry) => {
      const open = entry.status === "refused" || entry.status === "held";
      // Only a refused or held merge can be approved; a dropped identifier (deny-list, suppression) can only be rejected.
      const merge = !entry.rule.startsWith("deny_list") && entry.rule !== "suppressed";
      const buttons = el("td", {});
      if (open) {
        for (const [label, verb] of merge ? [["Approve", "approve"], ["Reject", "reject"]] : [["Reject", "reject"]]) {
          const button = el("button", { type: "button", class: "act", "data-action": verb }, label);
          button.addEventListener("click", () => act(`${label} review entry ${entry.id}`, async () => {
            await api("POST", `/v1/review/${entry.id}/${verb}`, {});
            await loadReview();
          }));
          buttons.append(button);
        }
      }
      const side = (s) => (s && s.identifier ? identifierText(s.identifier) : "(no identifier)") + (s && s.profile_id ? ` (profile ${s.profile_id})` : "");
      return el("tr", { "data-review-id": entry.id }, el("td", {}, entry.id), el("td", {}, entry.rule),
        el("td", {}, side(entry.a) + " ⟷ " + side(entry.b)), el("td", {}, entry.reason),
        el("td", {}, entry.count), el("td", {}, entry.status), buttons);
    }));
  } catch (e) {
    say("Review queue: " + e.message, true);
  }
}

async function loadAudit() {
  try {
    const answer = await api("GET", "/v1/admin/audit?limit=100");
    fill("audit-entries", answer.entries.map((entry) => el("tr", {}, el("td", {}, entry.audit_id), el("td", {}, shortTime(entry.at)),
      el("td", {}, entry.action), el("td", {}, entry.surface), el("td", {}, entry.key_id || ""), el("td", { class: "detail" }, JSON.stringify(entry.detail)))));
  } catch (e) {
    fill("audit-entries", []);
    say("Audit log: " + e.message, true);
  }
}

let jobsTimer = null;

async function loadJobs() {
  clearTimeout(jobsTimer);
  try {
    const jobs = await api("GET", "/v1/jobs");
    // Progress moves while a job runs: read again every two seconds while the tab is open on jobs.
    if (jobs.some((job) => job.status !== "completed" && job.status !== "failed")) {
      jobsTimer = setTimeout(() => { if (!$("jobs").hidden && sessionStorage.getItem(KEY_SLOT)) loadJobs(); }, 2000);
    }
    fill("job-entries", jobs.map((job) => {
      const done = job.completed_rows + job.failed_rows;
      const progress = el("progress", { max: Math.max(job.total_rows, 1), value: Math.min(done, Math.max(job.total_rows, 1)) });
      return el("tr", {}, el("td", {}, job.job_id), el("td", {}, job.kind), el("td", {}, job.status),
        el("td", {}, progress, ` ${done} / ${job.total_rows}` + (job.failed_rows ? ` (${job.failed_rows} failed)` : "")), el("td", {}, shortTime(job.submitted_at)));
    }));
  } catch (e) {
    say("Jobs: " + e.message, true);
  }
}

// ---- wiring ------------------------------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin").addEventListener("submit", (e) => { e.preventDefault(); signIn($("key").value.trim()); });
  $("signout").addEventListener("click", signOut);
  $("search").addEventListener("submit", (e) => { e.preventDefault(); lookUp(); });
  $("search-type").addEventListener("change", () => {
    const type = $("search-type").value;
    $("search-label-label").hidden = type !== "alias";
    $("search-custom-label").hidden = type !== "other";
    $("search-value-caption").textContent = type === "alias" ? "Name" : type === "profile" ? "Profile id" : "Value";
  });
  $("review-status").addEventListener("change", loadReview);
  for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => show(tab.dataset.view));
  if (sessionStorage.getItem(KEY_SLOT)) showSignedIn();
});
