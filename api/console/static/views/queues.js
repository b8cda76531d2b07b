// Handler queues (CONTRACT.md §5): the tickets assigned to the caller by queue state, nearest
// SLA due first, breached tickets marked.

import { get } from "../api.js";
import { onLive } from "../live.js";
import { QUEUE_NAMES, TICKET_COLUMNS, alertBox, countBadge, emptyRow, h, isBreached, newsBar, shownOf, skeletonRows, ticketCells } from "../ui.js";

const COLUMNS = 8;
const EMPTY = {
  pending: "Nothing waiting for you. New tickets assigned to you appear here.",
  processing: "No ticket in progress. Accept a pending ticket to start on it.",
  completed: "No completed tickets yet.",
  cancelled: "No revoked tickets.",
};

export async function renderQueues(main, { me }) {
  const alert = alertBox();
  const heading = h("h1", {}, "Handler queues");
  if (!["handler", "admin"].includes(me.role)) {
    main.replaceChildren(heading, alert);
    alert.show("The handler queues are for support staff. Your tickets are in Ticket Management.");
    return;
  }
  const address = new URLSearchParams(location.search);
  let state = address.get("queue");
  if (!(state in QUEUE_NAMES)) state = "pending";
  let q = address.get("q") || "";
  const search = h("input", { id: "search", type: "search", value: q, placeholder: "Number or title", autocomplete: "off" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const shown = h("span", { class: "shown", "aria-live": "polite" });
  const badges = Object.fromEntries(Object.keys(QUEUE_NAMES).map((code) => [code, h("span", { class: "tab-counts" })]));
  const tabs = Object.entries(QUEUE_NAMES).map(([code, name]) =>
    h("button", { type: "button", role: "tab", id: `queue-${code}`, "aria-selected": String(code === state), "aria-controls": "queue-table", tabindex: code === state ? "0" : "-1" }, name, badges[code]));
  const table = h("table", { id: "queue-table", class: "tickets queue", role: "tabpanel", "aria-labelledby": `queue-${state}` },
    h("thead", {}, h("tr", {}, TICKET_COLUMNS.map((name) => h("th", { scope: "col" }, name)))),
    body);
  const news = newsBar(() => true, () => load());
  main.replaceChildren(heading,
    h("p", { class: "muted" }, "Tickets assigned to you, nearest SLA due first; breached ones are marked."),
    h("div", { class: "tabs", role: "tablist", "aria-label": "Queues" }, tabs),
    h("div", { class: "toolbar" }, h("div", { class: "filters" },
      h("div", { class: "field grow" }, h("label", { for: "search" }, "Search"), search))),
    alert, news.bar, h("div", { class: "table-wrap" }, table), h("div", { class: "more" }, shown, more));
  onLive("ticket", news.seen);

  let cursor = null;
  let generation = 0;
  let total = null; // this tab's count, from the first page
  function row(ticket) {
    return h("tr", { class: isBreached(ticket) ? "breached" : null }, ticketCells(ticket));
  }
  async function load(append = false) {
    const mine = ++generation;
    alert.clear();
    if (!append) news.reset();
    if (!append) body.replaceChildren(...skeletonRows(COLUMNS));
    more.hidden = true;
    const query = new URLSearchParams({ queue_state: state, sort: "due", limit: "20" });
    if (q.trim()) query.set("q", q.trim());
    if (append && cursor) query.set("cursor", cursor);
    else query.set("totals", "true");
    try {
      const page = await get(`/handler/tickets?${query}`, { wait: true });
      if (mine !== generation) return;
      if (!append) body.replaceChildren();
      body.append(...page.items.map(row));
      if (!body.children.length) body.append(emptyRow(COLUMNS, q.trim() ? "No ticket in this queue matches the search." : EMPTY[state]));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      if (page.totals) {
        total = page.totals.matching;
        for (const [code, counted] of Object.entries(page.totals.queue_states)) badges[code].replaceChildren(countBadge(counted));
      }
      shown.textContent = cursor ? shownOf(body.querySelectorAll("tr:not(.empty)").length, total) : "";
    } catch (error) {
      if (mine !== generation) return;
      body.replaceChildren(emptyRow(COLUMNS, "The queue could not be loaded."));
      alert.show(error, {}, () => load(append));
    }
  }
  tabs.forEach((tab, index) => {
    const code = Object.keys(QUEUE_NAMES)[index];
    tab.addEventListener("click", () => {
      state = code;
      tabs.forEach((other) => {
        other.setAttribute("aria-selected", String(other === tab));
        other.tabIndex = other === tab ? 0 : -1;
      });
      table.setAttribute("aria-labelledby", tab.id);
      keep();
      load();
    });
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = tabs[(index + step + tabs.length) % tabs.length];
      next.focus();
      next.click();
    });
  });
  function keep() {
    const query = new URLSearchParams();
    if (state !== "pending") query.set("queue", state);
    if (q.trim()) query.set("q", q.trim());
    const text = query.toString();
    history.replaceState(null, "", text ? `/handler?${text}` : "/handler");
  }
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { q = search.value; keep(); load(); }, 300);
  });
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    clearTimeout(typing);
    q = search.value;
    keep();
    load();
  });
  more.addEventListener("click", () => load(true));
  await load();
}
