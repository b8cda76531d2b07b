// The "Notifications" button with the unread count, its list, and the settings page
// (CONTRACT.md §6.4). New notifications arrive on the live stream.

import { get, post, call } from "../api.js";
import { navigate } from "../router.js";
import { alertBox, h, time } from "../ui.js";

export const KIND_NAMES = {
  handler_replied: "Support answered your ticket",
  ticket_closed: "Your ticket was closed",
  closing_soon: "Your ticket closes soon without an answer",
  rating_requested: "You can rate the help you got",
  ticket_assigned: "A ticket was assigned to you",
  user_replied: "The customer answered",
  sla_due_soon: "An SLA due time is an hour away",
  sla_breached: "An SLA due time was missed",
  note_added: "A colleague left a note",
};

let listening = new AbortController(); // the current button's listeners on window

/** The top bar's button; keeps its count and list up to date from the stream (a new
 * sign-in's button replaces the last one's listeners). */
export function notificationsButton() {
  listening.abort();
  listening = new AbortController();
  let items = [];
  let unread = 0;
  let loaded = false;
  const badge = h("span", { class: "badge", hidden: true });
  const button = h("button", { type: "button", class: "bell", "aria-expanded": "false", "aria-controls": "notification-list" },
    "Notifications", " ", badge);
  const list = h("ol", { class: "notification-items" });
  const alert = alertBox();
  const markAll = h("button", { type: "button", class: "link" }, "Mark all as read");
  const panel = h("section", { id: "notification-list", class: "notifications card", hidden: true, "aria-label": "Notifications" },
    h("div", { class: "panel-head" }, h("h2", {}, "Notifications"), markAll),
    alert, list,
    h("p", { class: "panel-foot" }, h("a", { href: "/settings/notifications", "data-route": true }, "Notification settings")));

  function count(value) {
    unread = Math.max(0, value);
    badge.textContent = String(unread);
    badge.hidden = unread === 0;
    button.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
  }

  function item(notification) {
    const open = async (event) => {
      event.preventDefault();
      hide();
      if (!notification.read_at) {
        notification.read_at = new Date().toISOString();
        try {
          count((await post("/me/notifications/read", { notification_ids: [notification.notification_id] })).unread_count);
        } catch {
          // the ticket opens anyway; the mark is tried again next time
          notification.read_at = null;
        }
      }
      navigate(notification.url);
    };
    return h("li", { class: notification.read_at ? "read" : "unread" },
      h("a", { href: notification.url, onclick: open },
        h("span", { class: "what" }, KIND_NAMES[notification.kind] || notification.kind),
        h("span", { class: "ticket" }, `#${notification.ticket_number} ${notification.title}`),
        h("span", { class: "summary" }, notification.summary)),
      time(notification.occurred_at));
  }

  function draw() {
    list.replaceChildren(...(items.length ? items.map(item) : [h("li", { class: "empty" }, "Nothing yet. You will be told here when something happens to your tickets.")]));
    markAll.disabled = unread === 0;
  }

  let arrived = null; // notifications the stream brought while a load was on its way
  async function load() {
    arrived = [];
    try {
      const page = await get("/me/notifications?limit=20");
      // what the stream brought meanwhile may be newer than the answer: keep it, and count it
      // (a list read before the second of two answers overwrote it: 2 unread, 1 shown)
      const known = new Set(page.items.map((notification) => notification.notification_id));
      const newer = arrived.filter((notification) => !known.has(notification.notification_id));
      arrived = null;
      items = [...newer, ...page.items].slice(0, 50);
      loaded = true;
      count(page.unread_count + newer.filter((notification) => !notification.read_at).length);
      if (!panel.hidden) draw();
    } catch (error) {
      arrived = null;
      alert.show(error, {}, load);
    }
  }

  function hide() {
    panel.hidden = true;
    list.replaceChildren(); // a closed list keeps no copy of what it said in the page
    button.setAttribute("aria-expanded", "false");
  }

  button.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    button.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) {
      draw();
      markAll.focus();
    }
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hide();
      button.focus();
    }
  });
  markAll.addEventListener("click", async () => {
    if (!items.length) return;
    try {
      count((await post("/me/notifications/read", { up_to: items[0].notification_id })).unread_count);
      const now = new Date().toISOString();
      for (const notification of items) notification.read_at = notification.read_at || now;
      draw();
    } catch (error) {
      alert.show(error);
    }
  });
  window.addEventListener("live:notification", (event) => {
    const notification = event.detail;
    if (arrived) arrived.unshift(notification);
    if (items.some((known) => known.notification_id === notification.notification_id)) return;
    items = [notification, ...items].slice(0, 50);
    if (loaded) count(unread + 1);
    if (!panel.hidden) draw();
  }, { signal: listening.signal });
  // the stream starts from when it opened: read again what came before it did
  window.addEventListener("live:open", load, { signal: listening.signal });
  load();
  return h("div", { class: "bell-wrap" }, button, panel);
}

// what each side can be told (CONTRACT.md §6.1): the customer's kinds, and support's
const FOR_USERS = ["handler_replied", "ticket_closed", "closing_soon", "rating_requested"];

export async function renderNotificationSettings(main, { me }) {
  const alert = alertBox();
  const saved = h("p", { role: "status", class: "muted" });
  main.replaceChildren(h("h1", {}, "Notification settings"), h("p", { class: "loading", role: "status" }, "Loading…"));
  let kinds;
  try {
    kinds = (await get("/me/notification-preferences")).kinds;
  } catch (error) {
    main.replaceChildren(h("h1", {}, "Notification settings"), alert);
    alert.show(error, {}, () => renderNotificationSettings(main, { me }));
    return;
  }
  const shown = Object.keys(KIND_NAMES).filter((kind) => (me.role === "user") === FOR_USERS.includes(kind));
  const boxes = shown.map((kind) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: kind, checked: kinds[kind] !== false }), ` ${KIND_NAMES[kind]}`));
  const form = h("form", { class: "card settings", onsubmit: async (event) => {
    event.preventDefault();
    alert.clear();
    saved.textContent = "";
    const chosen = Object.fromEntries([...form.querySelectorAll("input[type=checkbox]")].map((box) => [box.name, box.checked]));
    try {
      await call("PUT", "/me/notification-preferences", { body: { kinds: chosen } });
      saved.textContent = "Saved.";
    } catch (error) {
      alert.show(error);
    }
  } },
  h("fieldset", {}, h("legend", {}, "Send me these through the platform (e-mail, chat)"), boxes),
  h("p", { class: "muted" }, "The Notifications list in the console keeps every kind."),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save"), saved));
  main.replaceChildren(h("h1", {}, "Notification settings"), alert, form);
}
