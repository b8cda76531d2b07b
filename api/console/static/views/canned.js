// Canned replies (CONTRACT.md §7): the answers staff insert instead of retyping. Admins keep the
// shared ones; a handler keeps private ones of their own; auditors read.

import { call, get, post } from "../api.js";
import { FieldError, alertBox, emptyRow, h, skeletonRows, time } from "../ui.js";

const LABELS = { title: "Title", body: "Body", shared: "Shared with every handler" };
const PLACEHOLDERS = ["submitter.name", "ticket.number", "ticket.title", "handler.name"];

export async function renderCannedReplies(main, { me }) {
  const alert = alertBox();
  const heading = h("h1", {}, "Canned replies");
  if (!["admin", "handler", "auditor"].includes(me.role)) {
    main.replaceChildren(heading, alert);
    alert.show("Canned replies are for support staff.");
    return;
  }
  const writes = me.role !== "auditor";
  const mayChange = (reply) => me.role === "admin" || (!reply.shared && reply.owner.account_id === me.account_id);
  let editing = null; // the reply being changed, or null when adding

  const body = h("tbody", {}, skeletonRows(5, 3));
  const table = h("table", { class: "roster" },
    h("thead", {}, h("tr", {}, ["Title", "Shared", "Owner", "Changed", ""].map((name) => h("th", { scope: "col" }, name)))),
    body);
  const title = h("input", { id: "canned-title", autocomplete: "off", maxlength: "200" });
  const text = h("textarea", { id: "canned-body", rows: "6", maxlength: "10000", "aria-describedby": "canned-placeholders" });
  const shared = h("input", { type: "checkbox", id: "canned-shared" });
  const formHeading = h("h2", {}, "Add a canned reply");
  const save = h("button", { type: "submit", class: "primary" }, "Add reply");
  const cancel = h("button", { type: "button", class: "secondary", hidden: true, onclick: () => edit(null) }, "Cancel");
  const form = h("form", { class: "card canned-form", onsubmit: async (event) => {
    event.preventDefault();
    alert.clear();
    const fault = !title.value.trim() ? new FieldError("title", "give the reply a title to find it by")
      : !text.value.trim() ? new FieldError("body", "write the reply") : null;
    if (fault) {
      alert.show(fault, LABELS);
      return;
    }
    const fields = { title: title.value, body: text.value, shared: shared.checked };
    try {
      if (editing) await call("PATCH", `/admin/canned-replies/${encodeURIComponent(editing.id)}`, { body: fields });
      else await post("/admin/canned-replies", fields);
      edit(null);
      await load();
    } catch (error) {
      alert.show(error, LABELS);
    }
  } },
  formHeading,
  h("label", { for: "canned-title" }, "Title"), title,
  h("label", { for: "canned-body" }, "Body"), text,
  h("p", { class: "muted placeholders", id: "canned-placeholders" }, "Placeholders, filled in for the ticket at hand: ",
    PLACEHOLDERS.flatMap((name, index) => [index ? ", " : "", h("code", {}, `{{${name}}}`)])),
  me.role === "admin" ? h("label", { class: "check" }, shared, " Shared with every handler")
    : h("p", { class: "muted" }, "Your replies are yours alone; an admin can share a reply with every handler."),
  h("div", { class: "actions" }, cancel, save));

  function edit(reply) {
    editing = reply;
    title.value = reply ? reply.title : "";
    text.value = reply ? reply.body : "";
    shared.checked = reply ? reply.shared : false;
    formHeading.textContent = reply ? `Change “${reply.title}”` : "Add a canned reply";
    save.textContent = reply ? "Save changes" : "Add reply";
    cancel.hidden = !reply;
    if (reply) title.focus();
  }

  async function remove(reply) {
    alert.clear();
    try {
      await call("DELETE", `/admin/canned-replies/${encodeURIComponent(reply.id)}`);
      if (editing && editing.id === reply.id) edit(null);
      await load();
    } catch (error) {
      alert.show(error, LABELS);
    }
  }

  async function load() {
    try {
      const { items } = await get("/admin/canned-replies");
      body.replaceChildren(...items.map((reply) => h("tr", {},
        h("td", { "data-label": "Title" }, h("strong", {}, reply.title), h("div", { class: "muted excerpt" }, reply.body.length > 140 ? `${reply.body.slice(0, 140)}…` : reply.body)),
        h("td", { "data-label": "Shared" }, reply.shared ? "Shared" : "Private"),
        h("td", { "data-label": "Owner" }, reply.owner.name || reply.owner.account_id),
        h("td", { "data-label": "Changed" }, time(reply.updated_at)),
        h("td", { class: "row-actions" }, writes && mayChange(reply) ? [
          h("button", { type: "button", class: "secondary", "aria-label": `Edit ${reply.title}`, onclick: () => edit(reply) }, "Edit"),
          " ",
          h("button", { type: "button", class: "secondary", "aria-label": `Delete ${reply.title}`, onclick: () => remove(reply) }, "Delete"),
        ] : null))));
      if (!items.length) body.append(emptyRow(5, "No canned replies yet. Add the answers support gives most often."));
    } catch (error) {
      body.replaceChildren(emptyRow(5, "The canned replies could not be loaded."));
      alert.show(error, LABELS);
    }
  }

  main.replaceChildren(heading,
    h("p", { class: "muted" }, "Insert them from a ticket's reply box with “Insert reply”. Shared replies are offered to every handler; only admins change them."),
    alert, h("div", { class: "table-wrap" }, table), writes ? form : null);
  await load();
}
