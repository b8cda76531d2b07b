// Small helpers every view shares: elements, names, times, alerts, confirmations, files.

/** h("a", {href: "/"}, "text", child) → an element; attributes starting with "on" are listeners. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, value);
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

export const STATUS_NAMES = {
  waiting_for_assignment: "Waiting for Assignment",
  waiting_for_feedback: "Waiting for Feedback",
  feedback_provided: "Feedback Provided",
  closed: "Closed",
  revoked: "Revoked",
};

export const QUEUE_NAMES = { pending: "Pending", processing: "Processing", completed: "Completed", cancelled: "Cancelled" };

export const CLOSE_REASONS = {
  submitter: "closed by the submitter",
  completed: "marked complete by support",
  inactivity: "closed after 7 days without an answer",
  account_cancelled: "closed: the account was cancelled",
  workspace_dissolved: "closed: the workspace was dissolved",
};

let ticketTypes = [];
let typeNames = {};
/** The eight ticket types as GET /ticket-types names them, in its order. */
export function setTypes(types) {
  ticketTypes = types;
  typeNames = Object.fromEntries(types.map((type) => [type.code, type.name]));
}
export const types = () => ticketTypes;
export const typeName = (code) => typeNames[code] || code;

export function chip(status) {
  return h("span", { class: `chip chip-${status}` }, STATUS_NAMES[status] || status);
}

const exact = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const STEPS = [
  ["year", 365 * 86400], ["month", 30 * 86400], ["week", 7 * 86400],
  ["day", 86400], ["hour", 3600], ["minute", 60],
];

/** A time in the reader's time zone: relative in words, the exact time on hover. */
export function time(iso, { exactText = false } = {}) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const when = new Date(iso);
  const seconds = (when.getTime() - Date.now()) / 1000;
  let words = relative.format(0, "second");
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) {
      words = relative.format(Math.round(seconds / size), unit);
      break;
    }
  }
  if (Math.abs(seconds) < 60) words = seconds < 0 ? "just now" : "in a moment";
  return h("time", { datetime: iso, title: exact.format(when) }, exactText ? exact.format(when) : words);
}

/** The SLA clock a person should look at now: first response until answered, then resolution. */
export function slaDue(sla, status) {
  if (!sla || status === "closed" || status === "revoked") return null;
  return sla.first_responded_at ? { label: "Resolution due", at: sla.resolution_due_at } : { label: "First response due", at: sla.first_response_due_at };
}

export function slaCell(ticket) {
  const due = slaDue(ticket.sla, ticket.status);
  const breached = ticket.sla && ticket.sla.breached && ticket.sla.breached.length > 0;
  if (!due && !breached) return h("span", { class: "muted" }, "—");
  return h("span", { class: breached ? "sla breached" : "sla" },
    due ? time(due.at) : null,
    breached ? h("span", { class: "badge-breached" }, "Breached") : null);
}

export function person(party) {
  if (!party) return h("span", { class: "muted" }, "Unassigned");
  return h("span", { title: party.account_id }, party.name || party.account_id);
}

/** Whether trying the same request again may work: offline, or the service's database
 * briefly unavailable (503). */
export function isTransient(error) {
  return Boolean(error) && (error.status === 0 || error.status === 503);
}

/**
 * The role=alert element of a form or view; `show(error)` names the fields of a 422, and
 * offers "Try again" (calling `retry`) when the failure may pass by itself.
 */
export function alertBox() {
  const box = h("div", { role: "alert", class: "alert", hidden: true });
  let marked = [];
  box.show = (error, labels = {}, retry = null, inputs = {}) => {
    box.clear();
    const fields = (error && error.errors) || {};
    const names = Object.keys(fields);
    let message = typeof error === "string" ? error : error.message;
    // the API's "invalid fields: a, b" says what went wrong, not what to do
    if (names.length && /^invalid fields?:/i.test(message || "")) {
      message = names.length === 1 ? "Please correct this field before sending." : `Please correct these ${names.length} fields before sending.`;
    }
    box.append(h("p", {}, message));
    // every refused field marked, so that it reads as invalid where it is
    marked = names.map((name) => inputs[name]).filter(Boolean);
    for (const input of marked) input.setAttribute("aria-invalid", "true");
    if (names.length) {
      box.append(h("ul", {}, names.map((name) =>
        h("li", {}, h("strong", {}, `${labels[name] || name}: `), [].concat(fields[name]).join("; ")))));
    }
    if (retry && isTransient(error)) {
      box.append(h("button", { type: "button", class: "secondary", onclick: () => { box.clear(); retry(); } }, "Try again"));
    }
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  };
  box.clear = () => {
    box.hidden = true;
    box.replaceChildren();
    for (const input of marked) input.removeAttribute("aria-invalid");
    marked = [];
  };
  return box;
}

/** Ask once before a final step; resolves true when the person confirms. */
export function confirmStep({ title, consequence, confirm }) {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, title),
      h("p", {}, consequence),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "secondary", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button", { type: "button", class: "primary", onclick: () => dialog.close("confirm") }, confirm)));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export const ACCEPTED_EXTENSIONS = [".png", ".gif", ".jpg", ".jpeg", ".bmp", ".doc", ".docx", ".pdf", ".xlsx", ".xls", ".txt", ".zip", ".rar"];
export const MAX_FILE_BYTES = 8 * 1024 * 1024;
export const MAX_FILES = 5;

export function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Why these files cannot be uploaded, or null: format, size and count (CONTRACT.md §2.4). */
export function filesFault(files) {
  if (files.length > MAX_FILES) return `At most ${MAX_FILES} files can be attached at once; ${files.length} were chosen.`;
  for (const file of files) {
    const dot = file.name.lastIndexOf(".");
    const extension = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    if (!ACCEPTED_EXTENSIONS.includes(extension)) return `${file.name}: this format is not accepted (accepted: ${ACCEPTED_EXTENSIONS.join(" ")}).`;
    if (file.size > MAX_FILE_BYTES) return `${file.name} is ${size(file.size)}; each file may be at most 8 MB.`;
    if (file.size === 0) return `${file.name} is empty.`;
  }
  return null;
}

/** A labelled file input that lists the chosen files and refuses bad ones on the spot. */
export function fileField(id, alert) {
  const input = h("input", { id, type: "file", multiple: true, accept: ACCEPTED_EXTENSIONS.join(",") });
  const list = h("ul", { class: "files", "aria-live": "polite" });
  input.addEventListener("change", () => {
    list.replaceChildren(...[...input.files].map((file) => h("li", {}, file.name, h("span", { class: "muted" }, ` ${size(file.size)}`))));
    const fault = filesFault([...input.files]);
    if (fault) alert.show(new FieldError("attachments", fault), { attachments: "Attachments" });
    else alert.clear();
  });
  return { input, list };
}

/** A refusal found before anything was sent, shaped like the service's 422. */
/** A refusal found before sending: one field and its message, or every field's at once. */
export class FieldError extends Error {
  constructor(field, message) {
    const errors = typeof field === "object" ? field : { [field]: [message] };
    const count = Object.keys(errors).length;
    super(count === 1 ? "Please correct this field before sending." : `Please correct these ${count} fields before sending.`);
    this.errors = errors;
  }
}

/** "20 of 57": how much of a list is on screen (counts stop at the service's cap: "10,000+"). */
export function shownOf(shown, total) {
  if (!total) return "";
  const all = total.exact ? total.count.toLocaleString("en") : `${total.count.toLocaleString("en")}+`;
  return `${shown.toLocaleString("en")} of ${all}`;
}

/** A tab's count, read as "Pending, 3 tickets" (or "10,000 or more"). */
export function countBadge(total) {
  const text = total.exact ? total.count.toLocaleString("en") : `${total.count.toLocaleString("en")}+`;
  const spoken = total.exact ? `${text} ticket${total.count === 1 ? "" : "s"}` : `${total.count.toLocaleString("en")} or more tickets`;
  return h("span", { class: "tab-count", "aria-label": spoken }, text);
}

export function emptyRow(columns, sentence) {
  return h("tr", { class: "empty" }, h("td", { colspan: columns }, sentence));
}

export function skeletonRows(columns, count = 5) {
  return Array.from({ length: count }, () =>
    h("tr", { class: "skeleton", "aria-hidden": "true" }, Array.from({ length: columns }, () => h("td", {}, h("span", {})))));
}

export const TICKET_COLUMNS = ["Number", "Title", "Type", "Status", "Submitter", "Workspace", "Submitted", "SLA due"];

/** A ticket summary's cells in TICKET_COLUMNS order (lists and queues show the same). */
export function ticketCells(ticket) {
  return [
    h("td", { class: "number", "data-label": "Number" }, `#${ticket.number}`),
    h("td", { class: "title", "data-label": "Title" }, h("a", { href: `/tickets/${encodeURIComponent(ticket.id)}`, "data-route": true }, ticket.title)),
    h("td", { "data-label": "Type" }, typeName(ticket.type)),
    h("td", { "data-label": "Status" }, chip(ticket.status)),
    h("td", { "data-label": "Submitter" }, person(ticket.submitter)),
    h("td", { "data-label": "Workspace" }, ticket.workspace_id),
    h("td", { "data-label": "Submitted" }, time(ticket.submitted_at)),
    h("td", { "data-label": "SLA due" }, slaCell(ticket)),
  ];
}

export const isBreached = (ticket) => Boolean(ticket.sla && ticket.sla.breached && ticket.sla.breached.length);

/**
 * "N new or changed tickets" with a "Show" button (CONTRACT.md §6.4): a list does not jump
 * under the reader; `relevant(change)` says which live changes concern it.
 */
export function newsBar(relevant, show) {
  const changed = new Set();
  const text = h("span");
  const button = h("button", { type: "button", class: "secondary" }, "Show");
  const bar = h("div", { class: "news", role: "status", hidden: true }, text, button);
  button.addEventListener("click", () => {
    changed.clear();
    bar.hidden = true;
    show();
  });
  return {
    bar,
    seen(change) {
      if (!relevant(change)) return;
      changed.add(change.ticket_id);
      text.textContent = `${changed.size} new or changed ${changed.size === 1 ? "ticket" : "tickets"} `;
      bar.hidden = false;
    },
    reset() {
      changed.clear();
      bar.hidden = true;
    },
  };
}
