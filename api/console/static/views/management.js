// Ticket Management (CONTRACT.md §5): workspace, All Tickets / My Tickets, filters, search,
// the table with checkboxes, exports and more pages. The filters live in the address, so a
// reload or a shared link shows the same list. Admins and auditors also get "All workspaces":
// every ticket on the platform (GET /admin/tickets), with an Assignee filter.

import { download, get } from "../api.js";
import { onLive } from "../live.js";
import { STATUS_NAMES, TICKET_COLUMNS, alertBox, emptyRow, h, isBreached, newsBar, shownOf, skeletonRows, ticketCells, types } from "../ui.js";
import { openSubmit } from "./submit.js";

const COLUMNS = 9;
const WORKSPACE_KEY = "ticketing.workspace";
const EXPORT_PAGE = 100;
const EVERYWHERE = "*"; // the "All workspaces" choice of admins and auditors

function state() {
  const query = new URLSearchParams(location.search);
  return {
    tab: query.get("tab") === "mine" ? "mine" : "all",
    workspace: query.get("workspace") || sessionStorage.getItem(WORKSPACE_KEY) || "",
    type: query.get("type") || "",
    status: query.get("status") || "",
    assignee: query.get("assignee") || "",
    q: query.get("q") || "",
  };
}

function keep(current) {
  const query = new URLSearchParams();
  if (current.tab === "mine") query.set("tab", "mine");
  for (const name of ["workspace", "type", "status", "assignee", "q"]) if (current[name]) query.set(name, current[name]);
  const text = query.toString();
  history.replaceState(null, "", text ? `/?${text}` : "/");
  if (current.workspace) sessionStorage.setItem(WORKSPACE_KEY, current.workspace);
}

function select(id, label, options, value) {
  return [
    h("label", { for: id }, label),
    h("select", { id }, options.map(([code, name]) => h("option", { value: code, selected: code === value }, name))),
  ];
}

export async function renderManagement(main, { me }) {
  const current = state();
  const alert = alertBox();
  const heading = h("h1", {}, "Ticket Management");
  main.replaceChildren(heading, alert, h("p", { class: "loading", role: "status" }, "Loading your workspaces…"));
  let workspaces;
  try {
    workspaces = (await get("/me/workspaces", { wait: true })).items.map((item) => item.workspace_id);
  } catch (error) {
    main.replaceChildren(heading, alert);
    alert.show(error, {}, () => renderManagement(main, { me }));
    return;
  }
  const staffWide = me.role === "admin" || me.role === "auditor";
  const choices = staffWide ? [EVERYWHERE, ...workspaces] : workspaces;
  if (!choices.includes(current.workspace)) current.workspace = staffWide ? EVERYWHERE : workspaces[0] || "";
  if (!choices.length && current.tab === "all") current.tab = "mine";
  if (current.workspace !== EVERYWHERE) current.assignee = "";
  keep(current);

  const workspaceSelect = h("select", { id: "workspace" }, choices.length
    ? choices.map((id) => h("option", { value: id, selected: id === current.workspace }, id === EVERYWHERE ? "All workspaces" : id))
    : h("option", { value: "" }, "No workspace"));
  if (!choices.length) workspaceSelect.disabled = true;
  let roster = [];
  if (staffWide) {
    try {
      roster = await get("/admin/handlers");
    } catch {
      roster = []; // the Assignee filter then offers "Any assignee" alone
    }
  }
  const [assigneeLabel, assigneeSelect] = select("filter-assignee", "Assignee",
    [["", "Any assignee"], ...roster.map((handler) => [handler.account_id, handler.name || handler.account_id])], current.assignee);
  const assigneeField = h("div", { class: "field", hidden: current.workspace !== EVERYWHERE }, assigneeLabel, assigneeSelect);
  const tabs = [["all", "All Tickets"], ["mine", "My Tickets"]].map(([code, name]) =>
    h("button", { type: "button", role: "tab", id: `tab-${code}`, "aria-selected": String(current.tab === code), "aria-controls": "ticket-table", tabindex: current.tab === code ? "0" : "-1" }, name));
  const [typeLabel, typeSelect] = select("filter-type", "Type", [["", "All types"], ...types().map((type) => [type.code, type.name])], current.type);
  const [statusLabel, statusSelect] = select("filter-status", "Status", [["", "All statuses"], ...Object.entries(STATUS_NAMES)], current.status);
  const search = h("input", { id: "search", type: "search", value: current.q, placeholder: "Number or title", autocomplete: "off" });
  const count = h("span", { class: "selection", "aria-live": "polite" });
  const exportCsv = h("button", { type: "button", class: "secondary" }, "Export CSV");
  const exportXlsx = h("button", { type: "button", class: "secondary" }, "Export XLSX");
  const submit = h("button", { type: "button", class: "primary" }, "Submit Ticket");
  if (me.role !== "user" || !workspaces.length) submit.disabled = true;
  const selectAll = h("input", { type: "checkbox", id: "select-all", "aria-label": "Select all" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const shown = h("span", { class: "shown", "aria-live": "polite" });
  const table = h("table", { id: "ticket-table", class: "tickets", role: "tabpanel", "aria-labelledby": `tab-${current.tab}` },
    h("thead", {}, h("tr", {},
      h("th", { class: "check" }, selectAll),
      TICKET_COLUMNS.map((name) => h("th", { scope: "col" }, name)))),
    body);

  const news = newsBar((change) => current.tab === "mine" || current.workspace === EVERYWHERE || change.workspace_id === current.workspace, () => load());
  main.replaceChildren(
    h("div", { class: "page-head" }, heading, h("div", { class: "workspace-pick" }, h("label", { for: "workspace" }, "Workspace"), workspaceSelect)),
    h("div", { class: "tabs", role: "tablist", "aria-label": "Lists" }, tabs),
    h("div", { class: "toolbar" },
      h("div", { class: "filters" },
        h("div", { class: "field" }, typeLabel, typeSelect),
        h("div", { class: "field" }, statusLabel, statusSelect),
        assigneeField,
        h("div", { class: "field grow" }, h("label", { for: "search" }, "Search"), search)),
      h("div", { class: "actions" }, count, exportCsv, exportXlsx, submit)),
    alert,
    news.bar,
    h("div", { class: "table-wrap" }, table),
    h("div", { class: "more" }, shown, more),
  );
  onLive("ticket", news.seen);

  let rows = [];
  let cursor = null;
  let total = null; // the list's count, from its first page
  let generation = 0;
  const checked = new Set();

  function countText() {
    count.textContent = checked.size ? `${checked.size} selected` : "";
    selectAll.checked = rows.length > 0 && rows.every((row) => checked.has(row.id));
    // the buttons say what they will export: the checked rows, or the whole filtered list
    exportCsv.textContent = checked.size ? `Export ${checked.size} selected (CSV)` : "Export CSV";
    exportXlsx.textContent = checked.size ? `Export ${checked.size} selected (XLSX)` : "Export XLSX";
  }

  function row(ticket) {
    const box = h("input", { type: "checkbox", "aria-label": `Select ticket ${ticket.number}`, checked: checked.has(ticket.id) });
    box.addEventListener("change", () => {
      if (box.checked) checked.add(ticket.id);
      else checked.delete(ticket.id);
      countText();
    });
    return h("tr", { class: isBreached(ticket) ? "breached" : null }, h("td", { class: "check" }, box), ticketCells(ticket));
  }

  function listPath(after) {
    const query = new URLSearchParams({ limit: "20" });
    if (current.type) query.set("type", current.type);
    if (current.status) query.set("status", current.status);
    if (current.q.trim()) query.set("q", current.q.trim());
    if (after) query.set("cursor", after);
    if (current.tab === "all" && current.workspace === EVERYWHERE) {
      if (current.assignee) query.set("assignee", current.assignee);
      return `/admin/tickets?${query}`;
    }
    const base = current.tab === "mine" ? "/me/tickets" : `/workspaces/${encodeURIComponent(current.workspace)}/tickets`;
    return `${base}?${query}`;
  }

  function exportsShown() {
    // a workspace's export is for its members: the platform-wide list has none
    const everywhere = current.tab === "all" && current.workspace === EVERYWHERE;
    for (const button of [exportCsv, exportXlsx]) {
      button.disabled = everywhere;
      button.title = everywhere ? "Exports are per workspace: choose one of yours" : "";
    }
    assigneeField.hidden = !(current.tab === "all" && current.workspace === EVERYWHERE);
  }

  function emptySentence() {
    if (current.tab === "all" && !current.workspace) return "You are not a member of any workspace yet. Tickets assigned to support staff are in Handler queues.";
    if (current.type || current.status || current.assignee || current.q.trim()) return "No tickets match these filters. Clear the search or choose another type, status or assignee.";
    if (current.tab === "all" && current.workspace === EVERYWHERE) return "No tickets on the platform yet.";
    return current.tab === "mine" ? "You have not submitted a ticket yet. Submit one when something is wrong." : "No tickets yet. Submit one when something is wrong.";
  }

  async function load(append = false) {
    const mine = ++generation;
    alert.clear();
    if (!append) news.reset();
    if (!append) {
      rows = [];
      checked.clear();
      countText();
      body.replaceChildren(...skeletonRows(COLUMNS));
      body.setAttribute("aria-busy", "true");
    }
    more.hidden = true;
    exportsShown();
    if (current.tab === "all" && !current.workspace) {
      body.replaceChildren(emptyRow(COLUMNS, emptySentence()));
      body.removeAttribute("aria-busy");
      return;
    }
    try {
      // the first page brings the list's count ("20 of 57" beside more pages)
      const page = await get(append ? listPath(cursor) : `${listPath(null)}&totals=true`, { wait: true });
      if (mine !== generation) return;
      rows = append ? rows.concat(page.items) : page.items;
      cursor = page.next_cursor;
      if (!append) body.replaceChildren();
      body.append(...page.items.map(row));
      if (!rows.length) body.replaceChildren(emptyRow(COLUMNS, emptySentence()));
      more.hidden = !cursor;
      if (page.totals) total = page.totals.matching;
      shown.textContent = cursor ? shownOf(rows.length, total) : "";
      countText();
    } catch (error) {
      if (mine !== generation) return;
      body.replaceChildren(emptyRow(COLUMNS, "The list could not be loaded."));
      alert.show(error, {}, () => load(append));
    } finally {
      if (mine === generation) body.removeAttribute("aria-busy");
    }
  }

  function change(name, value) {
    current[name] = value;
    keep(current);
    load();
  }

  /** Every ticket of the filtered My Tickets list, grouped by workspace (export is per workspace). */
  async function myTicketsByWorkspace(only) {
    const groups = new Map();
    let after = null;
    do {
      const query = new URLSearchParams(listPath(after).split("?")[1]);
      query.set("limit", String(EXPORT_PAGE));
      const page = await get(`/me/tickets?${query}`, { wait: true });
      for (const ticket of page.items) {
        if (only && !only.has(ticket.id)) continue;
        if (!groups.has(ticket.workspace_id)) groups.set(ticket.workspace_id, []);
        groups.get(ticket.workspace_id).push(ticket.id);
      }
      after = page.next_cursor;
    } while (after);
    return groups;
  }

  async function exportAs(format, button) {
    alert.clear();
    button.disabled = true;
    const label = button.textContent;
    button.textContent = "Preparing…";
    try {
      if (current.tab === "all" && !checked.size) {
        const query = new URLSearchParams(listPath(null).split("?")[1]);
        query.delete("limit");
        query.set("format", format);
        await download("GET", `/workspaces/${encodeURIComponent(current.workspace)}/tickets/export?${query}`, undefined, `tickets.${format}`);
      } else if (current.tab === "all") {
        await download("POST", `/workspaces/${encodeURIComponent(current.workspace)}/tickets/export`, { format, ids: [...checked] }, `tickets.${format}`);
      } else {
        const groups = checked.size
          ? groupsOf(rows.filter((ticket) => checked.has(ticket.id)))
          : await myTicketsByWorkspace(null);
        if (!groups.size) throw new Error("There is nothing to export in this list.");
        for (const [workspace, ids] of groups) {
          await download("POST", `/workspaces/${encodeURIComponent(workspace)}/tickets/export`, { format, ids }, `tickets-${workspace}.${format}`);
        }
      }
    } catch (error) {
      alert.show(error);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }

  workspaceSelect.addEventListener("change", () => {
    if (workspaceSelect.value !== EVERYWHERE) current.assignee = "";
    change("workspace", workspaceSelect.value);
  });
  assigneeSelect.addEventListener("change", () => change("assignee", assigneeSelect.value));
  typeSelect.addEventListener("change", () => change("type", typeSelect.value));
  statusSelect.addEventListener("change", () => change("status", statusSelect.value));
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => change("q", search.value), 300);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      clearTimeout(typing);
      change("q", search.value);
    }
  });
  tabs.forEach((tab, index) => {
    const code = index === 0 ? "all" : "mine";
    tab.addEventListener("click", () => {
      tabs.forEach((other) => {
        other.setAttribute("aria-selected", String(other === tab));
        other.tabIndex = other === tab ? 0 : -1;
      });
      table.setAttribute("aria-labelledby", tab.id);
      change("tab", code);
    });
    tab.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        const next = tabs[(index + 1) % tabs.length];
        next.focus();
        next.click();
      }
    });
  });
  selectAll.addEventListener("change", () => {
    for (const ticket of rows) {
      if (selectAll.checked) checked.add(ticket.id);
      else checked.delete(ticket.id);
    }
    body.querySelectorAll("td.check input").forEach((box) => { box.checked = selectAll.checked; });
    countText();
  });
  more.addEventListener("click", () => load(true));
  exportCsv.addEventListener("click", () => exportAs("csv", exportCsv));
  exportXlsx.addEventListener("click", () => exportAs("xlsx", exportXlsx));
  submit.addEventListener("click", () => openSubmit({ workspace: current.workspace === EVERYWHERE ? workspaces[0] : current.workspace, workspaces }));
  await load();
}

function groupsOf(tickets) {
  const groups = new Map();
  for (const ticket of tickets) {
    if (!groups.has(ticket.workspace_id)) groups.set(ticket.workspace_id, []);
    groups.get(ticket.workspace_id).push(ticket.id);
  }
  return groups;
}
