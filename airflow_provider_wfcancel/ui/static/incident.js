// The incident view: what the provider's start tasks started that still runs, across the connections the
// user may read (GET api/incident), filtered by status, cancelled through the page's one cancel route.
(() => {
  "use strict";
  const page = window.wfcancelPage;
  const { api, el, say, badge, starterCell, serviceCell } = page;
  const $ = (id) => document.getElementById(id);
  const entries = new Map(); // "connection\u0000instance" -> { row, tr, box }
  const key = (conn, id) => `${conn}\u0000${id}`;

  function selected() {
    return [...entries.values()].filter((entry) => entry.box.checked);
  }

  function updateSelection() {
    const count = selected().length;
    $("incident-cancel").disabled = count === 0;
    $("incident-cancel").textContent = count ? `Cancel selected (${count})` : "Cancel selected";
  }

  function render(row) {
    const box = el("input", { type: "checkbox", "aria-label": `Select ${row.instance_id}` });
    box.disabled = !row.can_cancel || row.is_terminal;
    box.addEventListener("change", updateSelection);
    const name = row.version ? `${row.name ?? ""} ${row.version}` : row.name ?? "";
    const tr = el(
      "tr",
      { dataset: { instanceId: row.instance_id, connectionId: row.connection_id } },
      el("td", { class: "select" }, box),
      el("td", {}, el("code", { text: row.instance_id })),
      el("td", { text: row.connection_id }),
      el("td", { text: name }),
      el("td", { class: "status" }, badge(row), el("div", { class: "note outcome" })),
      el("td", { text: row.started ?? "" }),
      el("td", {}, starterCell(row.started_by)),
      el("td", {}, serviceCell(row)),
    );
    entries.set(key(row.connection_id, row.instance_id), { row, tr, box });
    return tr;
  }

  function update(conn) {
    return (instanceId, row, note, isError = false) => {
      const entry = entries.get(key(conn, instanceId));
      if (!entry) return;
      if (row) {
        entry.row = { ...entry.row, ...row };
        entry.tr.querySelector(".badge").replaceWith(badge(entry.row));
        entry.box.disabled = !entry.row.can_cancel || entry.row.is_terminal;
        if (entry.box.disabled) entry.box.checked = false;
      }
      if (note !== undefined) {
        const out = entry.tr.querySelector(".outcome");
        out.textContent = note;
        out.className = `note outcome${isError ? " error" : ""}`;
      }
    };
  }

  function showStatuses(statuses) {
    const select = $("incident-status");
    const current = select.value;
    const options = Object.entries(statuses).map(([status, n]) => el("option", { value: status, text: `${status} (${n})` }));
    select.replaceChildren(el("option", { value: "", text: "All statuses" }), ...options);
    select.value = current in statuses ? current : "";
  }

  async function load() {
    const params = new URLSearchParams();
    if ($("incident-status").value) params.set("status", $("incident-status").value);
    $("incident-load").disabled = true;
    try {
      const answer = await api(`api/incident?${params}`);
      showStatuses(answer.statuses);
      entries.clear();
      $("incident-rows").replaceChildren(...answer.instances.map(render));
      const notes = [
        `${answer.instances.length} running instance(s) started by Airflow, through ${answer.connections.length} connection(s) you may read`,
      ];
      if (answer.truncated) notes.push("only the newest start records were read");
      if (answer.other_identity) notes.push(`${answer.other_identity} EnOS start(s) as another user or organization not shown`);
      if (answer.refused_records) notes.push(`${answer.refused_records} record(s) refused (not their task's; see the API server log)`);
      for (const problem of answer.problems) notes.push(`${problem.connection_id}: ${problem.detail}`);
      $("incident-summary").textContent = notes.join("; ");
      $("incident-summary").className = answer.problems.length ? "note error" : "note";
      updateSelection();
    } catch (error) {
      $("incident-summary").textContent = error.message;
      $("incident-summary").className = "note error";
    } finally {
      $("incident-load").disabled = false;
    }
  }

  function askToCancel() {
    const chosen = selected();
    if (!chosen.length) return;
    const connections = new Set(chosen.map((entry) => entry.row.connection_id));
    $("confirm-text").textContent = `Cancel ${chosen.length} instance(s) through ${[...connections].join(", ")}? This cannot be undone.`;
    $("confirm-list").replaceChildren(
      ...chosen.map((entry) => {
        const by = entry.row.started_by;
        return el("li", {}, el("code", { text: entry.row.instance_id }), ` ${by.dag_id} / ${by.run_id} / ${by.task_id}`);
      }),
    );
    $("confirm").dataset.for = "incident";
    $("confirm").showModal();
  }

  async function confirmed() {
    if ($("confirm").dataset.for !== "incident" || $("confirm").returnValue !== "cancel") return;
    const byConnection = new Map();
    for (const entry of selected()) {
      const ids = byConnection.get(entry.row.connection_id) ?? [];
      byConnection.set(entry.row.connection_id, [...ids, entry.row.instance_id]);
    }
    $("incident-cancel").disabled = true;
    say(`Cancelling ${[...byConnection.values()].flat().length} instance(s)…`);
    const sent = [];
    for (const [conn, ids] of byConnection) {
      const mark = update(conn);
      try {
        const { pending } = await page.sendCancel(conn, ids, mark);
        sent.push(`${conn}: ${ids.length}`);
        page.watchIn(conn, pending, mark, (open, last) => {
          if (last) say(open.length ? `${open.length} instance(s) still running through ${conn}; refresh later.` : "Done: every cancelled instance has stopped.", Boolean(open.length));
          updateSelection();
        });
      } catch (error) {
        for (const id of ids) mark(id, null, error.message, true);
        say(error.message, true);
      }
    }
    if (sent.length) say(`Cancel sent (${sent.join(", ")}). Watching the status…`);
    updateSelection();
  }

  $("incident-load").addEventListener("click", load);
  $("incident-status").addEventListener("change", load);
  $("incident-cancel").addEventListener("click", askToCancel);
  $("confirm").addEventListener("close", confirmed);
  load();
})();
