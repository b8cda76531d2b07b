// A ticket's details (CONTRACT.md §5): the conversation, the reply box, the side panel with
// the ticket's facts and a button for exactly each of its allowed_actions.

import { call, download, get, post, upload } from "../api.js";
import { onLive, whenLeaving } from "../live.js";
import {
  CLOSE_REASONS, FieldError, alertBox, chip, confirmStep, fileField, filesFault, h, person, size, slaDue, time, typeName,
} from "../ui.js";

const STAFF = ["handler", "admin"];
const SEEN_BY_STAFF = ["handler", "admin", "auditor"]; // who announces presence and sees others'

const FINAL = {
  revoke: { title: "Revoke this ticket?", consequence: "Support will not pick it up. You can restart it later.", confirm: "Revoke ticket" },
  close: { title: "Close this ticket?", consequence: "Closed tickets cannot be reopened or replied to.", confirm: "Close ticket" },
  complete: { title: "Mark this ticket complete?", consequence: "The ticket closes: it cannot be reopened or replied to.", confirm: "Mark complete" },
};
const BUTTONS = { revoke: "Revoke", restart: "Restart", close: "Close", rate: "Rate", accept: "Accept", forward: "Forward", complete: "Mark complete" };

function attachmentLinks(attachments) {
  if (!attachments || !attachments.length) return null;
  return h("ul", { class: "attachments" }, attachments.map((attachment) =>
    h("li", {},
      h("a", {
        href: `/api/v1/attachments/${encodeURIComponent(attachment.id)}`,
        onclick: (event) => {
          event.preventDefault();
          download("GET", `/attachments/${encodeURIComponent(attachment.id)}`, undefined, attachment.filename);
        },
      }, attachment.filename),
      h("span", { class: "muted" }, ` ${size(attachment.size)}`))));
}

function entry({ author, side, body, when, attachments, automatic, note }) {
  return h("li", { class: `message ${side}${automatic ? " automatic" : ""}${note ? " note" : ""}` },
    h("div", { class: "meta" },
      h("strong", {}, author),
      automatic ? h("span", { class: "tag" }, "Automatic reply") : null,
      note ? h("span", { class: "tag note-tag" }, "Internal note · staff only") : null,
      time(when)),
    h("div", { class: "body" }, body),
    attachmentLinks(attachments));
}

function conversation(ticket, earlier, showEarlier) {
  const opening = entry({
    author: ticket.submitter.name || ticket.submitter.account_id, side: "customer",
    body: ticket.description, when: ticket.submitted_at, attachments: ticket.attachments,
  });
  // details carry the latest 100 messages; the earlier ones come on request, oldest first
  const known = new Set(ticket.messages.map((message) => message.id));
  const messages = [...earlier.filter((message) => !known.has(message.id)), ...ticket.messages];
  const missing = (ticket.messages_total ?? messages.length) - messages.length;
  const more = missing > 0
    ? h("li", { class: "earlier" }, h("button", { type: "button", class: "secondary", onclick: showEarlier }, `Show earlier messages (${missing})`))
    : null;
  // staff notes (details carry them for staff only) take their place in time among messages
  // no older than the oldest shown
  const shownFrom = missing > 0 && messages.length ? messages[0].created_at : "";
  const notes = (ticket.notes || []).filter((note) => note.created_at >= shownFrom).map((note) => ({ ...note, note: true }));
  const said = [...messages, ...notes].sort((a, b) => (a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : 0));
  // the customer's side is the submitter's and other members'; support and the system answer
  return h("ol", { class: "conversation", "aria-label": "Conversation" }, opening, more, said.map((message) => entry({
    author: `${message.author.name || message.author.account_id}${STAFF.includes(message.author.role) ? " (support)" : ""}`,
    side: message.author.role === "user" ? "customer" : "support",
    body: message.body, when: message.created_at, attachments: message.attachments, automatic: message.automatic, note: message.note,
  })));
}

function facts(ticket) {
  const due = ticket.sla || {};
  const pairs = [
    ["Status", chip(ticket.status)],
    ["Number", h("span", { class: "number" }, `#${ticket.number}`)],
    ["Type", typeName(ticket.type)],
    ["Submitter", person(ticket.submitter)],
    ["Workspace", ticket.workspace_id],
    ["Assignee", person(ticket.assignee)],
    ["Submitted", time(ticket.submitted_at, { exactText: true })],
    ["First response due", due.first_responded_at ? h("span", {}, "answered ", time(due.first_responded_at)) : time(due.first_response_due_at, { exactText: true })],
    ["Resolution due", time(due.resolution_due_at, { exactText: true })],
  ];
  if (due.breached && due.breached.length) pairs.push(["SLA", h("span", { class: "badge-breached" }, `Breached: ${due.breached.map((kind) => kind.replace("_", " ")).join(", ")}`)]);
  if (ticket.verified_email) pairs.push(["Verified e-mail", ticket.verified_email]);
  if (ticket.closed_at) pairs.push(["Closed", h("span", {}, time(ticket.closed_at), ` — ${CLOSE_REASONS[ticket.close_reason] || ticket.close_reason}`)]);
  if (ticket.rating) pairs.push(["Rating", h("span", {}, `${ticket.rating.score} of 5`, ticket.rating.comment ? h("q", {}, ticket.rating.comment) : null)]);
  const current = slaDue(ticket.sla, ticket.status);
  if (current) pairs.push(["Next SLA clock", h("span", {}, `${current.label} `, time(current.at))]);
  return h("dl", { class: "facts" }, pairs.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

export async function renderDetails(main, { me, ticketId }) {
  const alert = alertBox();
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Loading the ticket…"));
  let ticket;
  try {
    ticket = await get(`/tickets/${encodeURIComponent(ticketId)}`, { wait: true });
  } catch (error) {
    main.replaceChildren(h("h1", {}, "Ticket not available"), alert, h("p", {}, h("a", { href: "/", "data-route": true }, "Back to Ticket Management")));
    alert.show(error.status === 404 ? "No such ticket, or it is not visible to you." : error, {},
      () => renderDetails(main, { me, ticketId }));
    return;
  }
  const staff = STAFF.includes(me.role);
  let handlers = [];
  if (ticket.allowed_actions.includes("forward")) {
    try {
      handlers = (await get("/handlers")).items;
    } catch {
      handlers = [];
    }
  }

  async function command(action, body = {}) {
    alert.clear();
    try {
      const headers = { "If-Match": `"${ticket.version}"` };
      ticket = await call("POST", `/tickets/${encodeURIComponent(ticket.id)}/${action}`, { body, headers });
      draw();
    } catch (error) {
      if (error.status === 412 || error.status === 409) {
        ticket = await get(`/tickets/${encodeURIComponent(ticket.id)}`);
        draw();
        alert.show(`${error.message} The ticket has changed meanwhile: this is its current state.`);
      } else {
        alert.show(error, { handler_id: "Handler", score: "Score", comment: "Comment" });
      }
    }
  }

  function actionButtons() {
    const buttons = [];
    for (const action of ticket.allowed_actions) {
      if (action === "reply") continue;
      if (action === "forward") {
        const choice = h("select", { id: "forward-handler" },
          h("option", { value: "" }, "Choose a handler…"),
          handlers.filter((handler) => handler.account_id !== (ticket.assignee && ticket.assignee.account_id))
            .map((handler) => h("option", { value: handler.account_id }, handler.name || handler.account_id)));
        buttons.push(h("div", { class: "forward" },
          h("label", { for: "forward-handler" }, "Handler"), choice,
          h("button", { type: "button", class: "secondary", onclick: () => choice.value
            ? command("forward", { handler_id: choice.value })
            : alert.show(new FieldError("handler_id", "choose who should take the ticket"), { handler_id: "Handler" }) }, BUTTONS.forward)));
        continue;
      }
      if (action === "rate") {
        buttons.push(h("button", { type: "button", class: "secondary", "aria-expanded": "false", onclick: (event) => {
          const form = main.querySelector("form.rate");
          form.hidden = !form.hidden;
          event.currentTarget.setAttribute("aria-expanded", String(!form.hidden));
          if (!form.hidden) form.querySelector("input").focus();
        } }, BUTTONS.rate));
        continue;
      }
      const primary = action === "accept" || action === "restart";
      buttons.push(h("button", { type: "button", class: primary ? "primary" : "secondary", onclick: async () => {
        if (FINAL[action] && !(await confirmStep(FINAL[action]))) return;
        command(action);
      } }, BUTTONS[action] || action));
    }
    return buttons.length ? h("div", { class: "ticket-actions", role: "group", "aria-label": "Actions" }, buttons) : null;
  }

  function ratingForm() {
    if (!ticket.allowed_actions.includes("rate")) return null;
    const comment = h("textarea", { id: "rating-comment", rows: "3", maxlength: "2000" });
    const form = h("form", { class: "rate card", hidden: true, onsubmit: (event) => {
      event.preventDefault();
      const score = form.querySelector("input[name=score]:checked");
      if (!score) {
        alert.show(new FieldError("score", "choose a score from 1 to 5"), { score: "Score" });
        return;
      }
      const body = { score: Number(score.value) };
      if (comment.value.trim()) body.comment = comment.value;
      command("rating", body);
    } },
    h("fieldset", { class: "score" }, h("legend", {}, "Score"),
      [1, 2, 3, 4, 5].map((value) => h("label", { class: "radio" }, h("input", { type: "radio", name: "score", value: String(value) }), String(value)))),
    h("label", { for: "rating-comment" }, "Comment"), comment,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Submit rating")));
    return form;
  }

  // The composer: a reply to the customer, or (staff) an internal note. The two look apart
  // (a note is amber, says "staff only" and its button "Add note"), so that nobody sends one
  // for the other.
  function composerForm() {
    const canReply = ticket.allowed_actions.includes("reply");
    const canNote = Boolean(ticket.can_add_note);
    const why = ticket.status === "closed" ? "This ticket is closed: it cannot be replied to." : ticket.status === "revoked" ? "This ticket is revoked: restart it to continue the conversation." : "Replies open once the ticket is accepted.";
    if (!canReply && !canNote) return h("p", { class: "notice" }, why);
    let mode = canReply ? "reply" : "note";
    const message = h("textarea", { id: "reply-message", rows: "4", maxlength: "10000" });
    message.addEventListener("input", () => replying(message.value.trim() !== ""));
    const label = h("label", { for: "reply-message" });
    const hint = h("p", { class: "note-hint", id: "note-hint" }, "Only support staff see notes: the customer is not shown or told anything.");
    const files = fileField("reply-attachments", alert);
    const automatic = staff && canReply ? h("input", { type: "checkbox", id: "reply-automatic" }) : null;
    const automaticLabel = automatic ? h("label", { class: "check" }, automatic, " Automatic reply") : null;
    const send = h("button", { type: "submit", class: "primary" });
    const radios = canReply && canNote ? ["reply", "note"].map((value) => h("input", {
      type: "radio", name: "compose-mode", value, id: `compose-${value}`, checked: value === mode,
      onchange: () => { mode = value; showMode(); },
    })) : [];
    const modes = radios.length ? h("fieldset", { class: "modes" }, h("legend", { class: "visually-hidden" }, "Write"),
      h("label", { class: "mode" }, radios[0], " Reply to customer"),
      h("label", { class: "mode" }, radios[1], " Internal note")) : null;
    const form = h("form", { class: "reply", onsubmit: async (event) => {
      event.preventDefault();
      alert.clear();
      const chosen = [...files.input.files];
      const what = mode === "note" ? "Note" : "Message";
      const fault = !message.value.trim() ? new FieldError("body", mode === "note" ? "write a note" : "write a message") : filesFault(chosen) ? new FieldError("attachments", filesFault(chosen)) : null;
      if (fault) {
        alert.show(fault, { body: what, attachments: "Attachments" });
        return;
      }
      send.disabled = true;
      try {
        const body = { body: message.value };
        if (chosen.length) body.attachment_ids = (await upload(chosen)).map((attachment) => attachment.id);
        const path = `/tickets/${encodeURIComponent(ticket.id)}/${mode === "note" ? "notes" : "messages"}`;
        if (mode === "reply" && automatic && automatic.checked) body.automatic = true;
        await post(path, body, { headers: { "Idempotency-Key": crypto.randomUUID() } });
        message.value = "";
        files.input.value = "";
        files.list.replaceChildren();
        replying(false);
        ticket = await get(`/tickets/${encodeURIComponent(ticket.id)}`);
        draw();
        main.querySelector("#reply-message")?.focus();
      } catch (error) {
        alert.show(error, { body: what, attachment_ids: "Attachments" });
      } finally {
        send.disabled = false;
      }
    } },
    canReply ? null : h("p", { class: "notice" }, `${why} Staff can still add internal notes.`),
    modes,
    label, message, hint,
    h("label", { for: "reply-attachments" }, "Attachments"), files.input, files.list,
    h("div", { class: "actions" },
      staff ? insertReply(ticket.id, message, alert) : null,
      automaticLabel,
      send));

    function showMode() {
      const note = mode === "note";
      form.classList.toggle("note-mode", note);
      label.textContent = note ? "Note" : "Message";
      send.textContent = note ? "Add note" : "Send";
      hint.hidden = !note;
      if (note) message.setAttribute("aria-describedby", "note-hint");
      else message.removeAttribute("aria-describedby");
      if (automaticLabel) automaticLabel.hidden = note;
    }
    showMode();
    return form;
  }

  let earlier = []; // messages older than the latest 100, once asked for

  async function showEarlier() {
    alert.clear();
    const all = [];
    let cursor = null;
    try {
      do {
        const query = new URLSearchParams({ limit: "100" });
        if (cursor) query.set("cursor", cursor);
        const page = await get(`/tickets/${encodeURIComponent(ticket.id)}/messages?${query}`);
        all.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      earlier = all;
      draw();
    } catch (error) {
      alert.show(error, {}, showEarlier);
    }
  }

  // The reply box is made once and kept across redraws (a change someone else made, a
  // command's answer), so a half-written reply and its chosen files survive them.
  let reply = null;
  let replyOpen = null;

  function keptReply() {
    const open = `${ticket.allowed_actions.includes("reply")}/${Boolean(ticket.can_add_note)}`;
    if (reply === null || open !== replyOpen) {
      reply = composerForm();
      replyOpen = open;
    }
    return reply;
  }

  function draw() {
    document.title = `#${ticket.number} ${ticket.title} · Ticketing`;
    const focused = document.activeElement;
    const caret = focused && "selectionStart" in focused ? [focused.selectionStart, focused.selectionEnd] : null;
    main.replaceChildren(
      h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "/", "data-route": true }, "Ticket Management"), " › ", `#${ticket.number}`),
      h("h1", {}, ticket.title, " ", h("span", { class: "number muted" }, `#${ticket.number}`)),
      alert,
      h("div", { class: "details" },
        h("aside", { class: "panel", "aria-label": "Ticket" }, facts(ticket), actionButtons(), ratingForm()),
        h("section", { class: "thread", "aria-label": "Conversation and reply" }, presence.line, conversation(ticket, earlier, showEarlier), keptReply())));
    if (focused && focused !== document.body && main.contains(focused) && document.activeElement !== focused) {
      focused.focus({ preventScroll: true });
      if (caret) focused.setSelectionRange(...caret);
    }
  }

  const presence = staffPresence(ticket.id, SEEN_BY_STAFF.includes(me.role));
  const replying = presence.replying;
  draw();
  watchChanges();

  function watchChanges() {
    // another person's command: show it within moments, keeping what is being written
    let fetching = false;
    let again = false;
    const resumed = () => window.dispatchEvent(new CustomEvent("live:ticket", { detail: { ticket_id: ticket.id, version: ticket.version + 1 } }));
    for (const name of ["live:resumed", "live:open"]) {
      window.addEventListener(name, resumed);
      whenLeaving(() => window.removeEventListener(name, resumed));
    }
    onLive("ticket", async (change) => {
      if (change.ticket_id !== ticket.id || change.version <= ticket.version) return;
      if (fetching) {
        again = true;
        return;
      }
      fetching = true;
      try {
        do {
          again = false;
          const fresh = await get(`/tickets/${encodeURIComponent(ticket.id)}`);
          if (fresh.version > ticket.version) {
            ticket = fresh;
            draw();
          }
        } while (again);
      } catch {
        // the next change, or a reload, shows it
      } finally {
        fetching = false;
      }
    });
  }
}

/** "<name> is viewing / replying" for staff: this page's own presence, and the others'. */
function staffPresence(ticketId, staff) {
  const line = h("p", { class: "presence", role: "status", "aria-live": "polite" });
  if (!staff) return { line: null, replying: () => {} };
  const path = `/tickets/${encodeURIComponent(ticketId)}/presence`;
  const others = new Map();
  let state = "viewing";

  function show() {
    const now = Date.now();
    for (const [account, seen] of others) if (seen.until < now) others.delete(account);
    line.textContent = [...others.values()].map((seen) => `${seen.name || seen.account_id} is ${seen.state}`).join(" · ");
    line.hidden = others.size === 0;
  }
  async function announce() {
    try {
      const answer = await post(path, { state });
      for (const seen of answer.present) others.set(seen.account_id, { ...seen, until: Date.now() + 30_000 });
      show();
    } catch {
      // presence is a courtesy: the page works without it
    }
  }
  onLive("presence", (seen) => {
    if (seen.ticket_id !== ticketId) return;
    if (seen.state === "left") others.delete(seen.account_id);
    else others.set(seen.account_id, { ...seen, until: Date.now() + 30_000 });
    show();
  });
  const beat = setInterval(announce, 15_000);
  const expire = setInterval(show, 5_000);
  whenLeaving(() => {
    clearInterval(beat);
    clearInterval(expire);
    call("DELETE", path).catch(() => {});
  });
  show();
  announce();
  return {
    line,
    replying(now) {
      const next = now ? "replying" : "viewing";
      if (next === state) return;
      state = next;
      announce();
    },
  };
}

/** "Insert reply": search the canned replies by title with the keyboard (arrows, Enter,
 * Escape) and insert the chosen one, filled in for this ticket by the server, at the caret. */
function insertReply(ticketId, message, alert) {
  let replies = null; // loaded when first opened
  let shown = [];
  let active = -1;
  const button = h("button", { type: "button", class: "secondary", "aria-haspopup": "listbox", "aria-expanded": "false" }, "Insert reply");
  const search = h("input", {
    id: "canned-search", type: "search", autocomplete: "off", role: "combobox",
    "aria-autocomplete": "list", "aria-controls": "canned-options", "aria-expanded": "true",
  });
  const options = h("ul", { id: "canned-options", role: "listbox", "aria-label": "Canned replies" });
  const empty = h("p", { class: "muted", role: "status" });
  const panel = h("div", { class: "canned card", hidden: true },
    h("label", { for: "canned-search" }, "Search canned replies"), search, options, empty);

  function close(refocus = true) {
    panel.hidden = true;
    button.setAttribute("aria-expanded", "false");
    if (refocus) button.focus();
  }
  function render() {
    const needle = search.value.trim().toLocaleLowerCase();
    shown = (replies || []).filter((reply) => reply.title.toLocaleLowerCase().includes(needle));
    active = shown.length ? Math.min(Math.max(active, 0), shown.length - 1) : -1;
    options.replaceChildren(...shown.map((reply, index) => h("li", {
      id: `canned-${index}`, role: "option", "aria-selected": String(index === active), class: index === active ? "active" : null,
      onmousedown: (event) => event.preventDefault(), onclick: () => choose(reply),
    }, reply.title, reply.shared ? null : h("span", { class: "muted" }, " (yours)"))));
    if (active >= 0) search.setAttribute("aria-activedescendant", `canned-${active}`);
    else search.removeAttribute("aria-activedescendant");
    empty.textContent = replies === null ? "Loading…" : shown.length ? "" : replies.length ? "No canned reply has that in its title." : "No canned replies yet: add them under Canned replies.";
    options.querySelector(".active")?.scrollIntoView({ block: "nearest" });
  }
  async function choose(reply) {
    try {
      const filled = await get(`/tickets/${encodeURIComponent(ticketId)}/canned-replies/${encodeURIComponent(reply.id)}/preview`);
      const [start, end] = [message.selectionStart ?? message.value.length, message.selectionEnd ?? message.value.length];
      message.setRangeText(filled.body, start, end, "end");
      close(false);
      message.focus();
      message.dispatchEvent(new Event("input"));
    } catch (error) {
      alert.show(error);
    }
  }
  search.addEventListener("input", () => { active = 0; render(); });
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown.length) return;
      active = (active + (event.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      render();
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (active >= 0) choose(shown[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  });
  button.addEventListener("click", async () => {
    if (!panel.hidden) return close();
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    search.value = "";
    active = 0;
    render();
    search.focus();
    if (replies === null) {
      try {
        replies = (await get("/admin/canned-replies")).items;
      } catch (error) {
        replies = [];
        alert.show(error);
      }
      render();
    }
  });
  return h("div", { class: "insert-reply" }, button, panel);
}
