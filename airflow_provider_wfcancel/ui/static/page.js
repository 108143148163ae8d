// The Remote instances page: vanilla JS over the app's JSON API (same origin, Airflow's session cookie).
// Untrusted text (ids, names, statuses, errors) only ever goes through textContent or attributes.
(() => {
  "use strict";
  const CSRF_HEADER = document.querySelector('meta[name="wfcancel-csrf-header"]').content;
  const POLL_MS = 2000;
  const POLL_ROUNDS = 60;
  const $ = (id) => document.getElementById(id);
  const types = new Map();
  const SERVICE_NAMES = { domo: "Domo", enos: "EnOS" };
  const view = { conn: null, service: null, canCancel: false, rows: new Map() };

  async function api(path, options = {}) {
    const response = await fetch(path, {
      credentials: "same-origin",
      ...options,
      headers: { Accept: "application/json", ...(options.headers || {}) },
    });
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      const detail = body && body.detail;
      const text = typeof detail === "string" ? detail : detail ? JSON.stringify(detail) : response.statusText;
      const error = new Error(`${response.status}: ${text}`);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  function say(text, isError = false) {
    const box = $("message");
    box.textContent = text;
    box.className = isError ? "error" : "";
    box.setAttribute("role", isError ? "alert" : "status");
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "text") node.textContent = value;
      else if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  }

  function showFields(service) {
    for (const field of document.querySelectorAll("[data-service]")) {
      field.hidden = Boolean(service) && field.dataset.service !== service;
    }
  }

  function badgeClass(row) {
    if (row.is_cancelled) return "cancelled";
    if (!row.is_terminal) return "running";
    return row.is_success ? "success" : "failed";
  }

  function badge(row) {
    return el("span", { class: `badge ${badgeClass(row)}`, text: row.status === null ? "starting" : row.status });
  }

  // Airflow shows the page in a sandboxed frame (scripts, same origin; no popups, no top navigation): a link
  // that must leave the frame is followed from an anchor in Airflow's own document, which the sandbox does
  // not bind. Outside a frame (the page opened on its own), links work as written.
  function leaveFrame(event) {
    const link = event.currentTarget;
    let top = null;
    try { top = window.top !== window ? window.top.document : null; } catch (_) { top = null; }
    if (!top) return;
    event.preventDefault();
    const anchor = top.createElement("a");
    anchor.href = link.href;
    if (link.target === "_blank") { anchor.target = "_blank"; anchor.rel = "noopener noreferrer"; }
    top.body.append(anchor);
    anchor.click();
    anchor.remove();
  }

  function link(props) {
    const anchor = el("a", props);
    anchor.addEventListener("click", leaveFrame);
    return anchor;
  }

  function starterCell(starter) {
    if (!starter) return el("span", { class: "note", text: "—", title: "Not started by a start task of a DAG you may read" });
    const label = `${starter.dag_id} / ${starter.run_id} / ${starter.task_id}`;
    return link({ href: starter.url, target: "_top", title: "Open the task instance in Airflow", text: label });
  }

  function serviceCell(row) {
    if (!row.url) return el("span", { class: "note", text: row.service === "EnOS" ? "no instance page" : "—" });
    return link({ href: row.url, target: "_blank", rel: "noopener noreferrer", text: `Open in ${row.service}` });
  }

  function renderRow(row) {
    const box = el("input", { type: "checkbox", "aria-label": `Select ${row.instance_id}` });
    box.disabled = !view.canCancel || row.is_terminal;
    box.addEventListener("change", updateSelection);
    const name = row.version ? `${row.name ?? ""} ${row.version}` : row.name ?? "";
    const tr = el(
      "tr",
      { dataset: { instanceId: row.instance_id } },
      el("td", { class: "select" }, box),
      el("td", {}, el("code", { text: row.instance_id })),
      el("td", { text: name }),
      el("td", { class: "status" }, badge(row), el("div", { class: "note outcome" })),
      el("td", { text: row.started ?? "" }),
      el("td", {}, starterCell(row.started_by)),
      el("td", {}, serviceCell(row)),
    );
    view.rows.set(row.instance_id, { row, tr, box });
    return tr;
  }

  function updateRow(instanceId, row, note, isError = false) {
    const entry = view.rows.get(instanceId);
    if (!entry) return;
    if (row) {
      entry.row = { ...entry.row, ...row };
      entry.tr.querySelector(".badge").replaceWith(badge(entry.row));
      entry.box.disabled = !view.canCancel || entry.row.is_terminal;
      if (entry.box.disabled) entry.box.checked = false;
    }
    if (note !== undefined) {
      const out = entry.tr.querySelector(".outcome");
      out.textContent = note;
      out.className = `note outcome${isError ? " error" : ""}`;
    }
  }

  function selected() {
    return [...view.rows.values()].filter((entry) => entry.box.checked).map((entry) => entry.row.instance_id);
  }

  function updateSelection() {
    const ids = selected();
    const button = $("cancel");
    button.disabled = ids.length === 0;
    button.textContent = ids.length ? `Cancel selected (${ids.length})` : "Cancel selected";
  }

  function base() {
    return `api/connections/${encodeURIComponent(view.conn)}`;
  }

  async function list(event) {
    if (event) event.preventDefault();
    const conn = $("connection").value.trim();
    if (!conn) { say("Pick a connection first.", true); return; }
    view.conn = conn;
    const params = new URLSearchParams();
    const service = types.get(conn);
    for (const name of ["model_id", "version", "flow_id", "search"]) {
      const field = $(name);
      const value = field.value.trim();
      if (value && (!service || field.closest(".field").dataset.service === service)) params.set(name, value);
    }
    if ((!service || service === "domo") && $("include_finished").checked) params.set("include_finished", "true");
    say("Loading…");
    $("list").disabled = true;
    try {
      const answer = await api(`${base()}/instances?${params}`);
      view.service = answer.service;
      view.canCancel = answer.can_cancel;
      types.set(conn, answer.service);
      showFields(answer.service);
      view.rows.clear();
      $("rows").replaceChildren(...answer.instances.map(renderRow));
      $("results").hidden = false;
      $("cancel").hidden = !view.canCancel;
      $("select-all").disabled = !view.canCancel;
      $("select-all").checked = false;
      updateSelection();
      const more = answer.truncated ? " (more match: narrow the filter)" : "";
      $("summary").textContent = `${answer.instances.length} instance(s) via ${conn}${more}`;
      say(view.canCancel ? "" : "You may list these instances, not cancel them.");
    } catch (error) {
      $("results").hidden = true;
      say(error.message, true);
    } finally {
      $("list").disabled = false;
    }
  }

  function askToCancel() {
    const ids = selected();
    if (!ids.length) return;
    $("confirm-text").textContent = `Cancel ${ids.length} ${SERVICE_NAMES[view.service] ?? view.service} instance(s) through connection ${view.conn}? This cannot be undone.`;
    $("confirm-list").replaceChildren(...ids.map((id) => el("li", {}, el("code", { text: id }))));
    $("confirm").dataset.for = "list";
    $("confirm").showModal();
  }

  async function confirmed() {
    if ($("confirm").dataset.for !== "list" || $("confirm").returnValue !== "cancel") return;
    const ids = selected();
    $("cancel").disabled = true;
    say(`Cancelling ${ids.length} instance(s)…`);
    try {
      const { result, pending } = await sendCancel(view.conn, ids, updateRow);
      const counts = Object.entries(result.counts).filter(([, n]) => n).map(([k, n]) => `${k.replace("_", " ")} ${n}`);
      say(`Cancel sent: ${counts.join(", ")}. Watching the status…`);
      watch(pending);
    } catch (error) {
      say(error.message, true);
      updateSelection();
    }
  }

  // The page's one cancel request (POST api/connections/{conn}/cancel); each row marked with its outcome.
  async function sendCancel(conn, ids, update) {
    const result = await api(`api/connections/${encodeURIComponent(conn)}/cancel`, {
      method: "POST",
      headers: { "Content-Type": "application/json", [CSRF_HEADER]: "1" },
      body: JSON.stringify({ instance_ids: ids }),
    });
    const pending = [];
    for (const line of result.instances) {
      const failed = line.outcome === "error";
      update(line.instance_id, line.status === null ? null : { status: line.status }, failed ? line.error : line.outcome.replace("_", " "), failed);
      if (line.outcome === "cancel_requested") pending.push(line.instance_id);
    }
    return { result, pending };
  }

  // Read each cancelled instance every POLL_MS until it is terminal; onRound(open, last) after each round.
  async function watchIn(conn, ids, update, onRound, round = 0) {
    const open = [];
    for (const id of ids) {
      try {
        const row = await api(`api/connections/${encodeURIComponent(conn)}/instances/${encodeURIComponent(id)}`);
        update(id, row, row.is_terminal ? (row.is_cancelled ? "cancelled" : "ended before the cancel") : undefined);
        if (!row.is_terminal) open.push(id);
      } catch (error) {
        update(id, null, error.message, true);
      }
    }
    const last = !open.length || round >= POLL_ROUNDS;
    if (!last) setTimeout(() => watchIn(conn, open, update, onRound, round + 1), POLL_MS);
    onRound(open, last);
  }

  function watch(ids) {
    watchIn(view.conn, ids, updateRow, (open, last) => {
      if (last && !open.length) say("Done: every cancelled instance has stopped.");
      else if (last) say(`${open.length} instance(s) still running; list again later.`, true);
      updateSelection();
    });
  }

  async function loadConnections() {
    try {
      const answer = await api("api/connections");
      $("connections").replaceChildren(
        ...answer.connections.map((c) => el("option", { value: c.connection_id, text: c.conn_type })),
      );
      $("connection-pick").append(
        ...answer.connections.map((c) => el("option", { value: c.connection_id, text: `${c.connection_id} (${SERVICE_NAMES[c.conn_type] ?? c.conn_type})` })),
      );
      for (const c of answer.connections) types.set(c.connection_id, c.conn_type);
      if (!answer.connections.length) say("No Domo or EnOS connection you may read; type one from a secrets backend.");
    } catch (error) {
      say(error.message, true);
    }
  }

  $("filters").addEventListener("submit", list);
  $("connection-pick").addEventListener("change", () => {
    const conn = $("connection-pick").value;
    if (!conn) return;
    $("connection").value = conn;
    showFields(types.get(conn));
    if (types.get(conn) !== "domo" || $("model_id").value.trim()) list();
    else say("Domo lists instances per model: enter a model id, then List instances.");
  });
  $("connection").addEventListener("input", () => showFields(types.get($("connection").value.trim())));
  $("cancel").addEventListener("click", askToCancel);
  $("confirm").addEventListener("close", confirmed);
  $("select-all").addEventListener("change", (event) => {
    for (const entry of view.rows.values()) if (!entry.box.disabled) entry.box.checked = event.target.checked;
    updateSelection();
  });

  // Shared with the incident view (incident.js, in the same script element).
  window.wfcancelPage = { api, el, say, badge, starterCell, serviceCell, sendCancel, watchIn };

  loadConnections().then(() => {
    const query = new URLSearchParams(window.location.search);
    for (const name of ["connection", "model_id", "version", "flow_id", "search"]) {
      if (query.get(name)) $(name).value = query.get(name);
    }
    showFields(types.get($("connection").value.trim()));
    if (query.get("connection")) list();
  });
})();
