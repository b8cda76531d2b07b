// The console's entry: sign-in by /#token=<JWT>, the top bar, and the routes of CONTRACT.md §5.

import { get, session, whenSignedOut } from "./api.js";
import { navigate } from "./router.js";
import { alertBox, h, setTypes } from "./ui.js";
import { renderSignIn } from "./views/signin.js";
import { renderManagement } from "./views/management.js";
import { renderDetails } from "./views/details.js";
import { renderQueues } from "./views/queues.js";
import { renderHandlers } from "./views/handlers.js";
import { renderCannedReplies } from "./views/canned.js";
import { renderReports } from "./views/reports.js";
import { notificationsButton, renderNotificationSettings } from "./views/notifications.js";
import { leaveView, startLive, stopLive } from "./live.js";

const main = document.getElementById("main");
const topbar = document.getElementById("topbar");
const STAFF = ["handler", "admin"];
let me = null;
let bell = null; // the Notifications button, made once per sign-in
const liveBanner = h("p", { class: "live-banner", role: "status", hidden: true },
  "Live updates are away: reconnecting… Changes will show once the connection is back.");
topbar.after(liveBanner);

function takeTokenFromAddress() {
  const match = /^#token=(.+)$/.exec(location.hash);
  if (!match) return;
  session.signIn(decodeURIComponent(match[1]));
  // the token stays with this tab, not in the address bar, history or a bookmark
  history.replaceState(null, "", location.pathname + location.search);
}

function link(path, text) {
  const current = location.pathname === path || (path === "/" && location.pathname.startsWith("/tickets/"));
  return h("a", { href: path, "aria-current": current ? "page" : null, "data-route": true }, text);
}

function renderTopbar() {
  topbar.replaceChildren();
  if (!me) {
    topbar.append(h("span", { class: "brand" }, "Ticketing"));
    return;
  }
  const links = [link("/", "Tickets")];
  if (STAFF.includes(me.role)) links.push(link("/handler", "Handler queues"));
  if (me.role === "admin") links.push(link("/admin/handlers", "Handlers"));
  if ([...STAFF, "auditor"].includes(me.role)) links.push(link("/admin/canned-replies", "Canned replies"));
  if (["admin", "auditor"].includes(me.role)) links.push(link("/admin/reports", "Reports"));
  links.push(h("a", { href: "/api/v1/docs" }, "API docs"));
  topbar.append(
    h("a", { class: "brand", href: "/", "data-route": true }, "Ticketing"),
    h("nav", { "aria-label": "Main" }, links),
    h("div", { class: "who" },
      bell,
      h("span", { class: "name" }, me.name || me.account_id),
      h("span", { class: "role" }, me.role),
      h("button", { type: "button", class: "link", onclick: () => signOut("You signed out.") }, "Sign out")),
  );
}

/** A new element for the next view: one that was left and still finishes loading renders
 * into its own element, no longer in the page, instead of over its successor. */
function freshView() {
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  return view;
}

function signOut(reason) {
  leaveView();
  stopLive();
  session.signOut();
  me = null;
  bell = null;
  history.replaceState(null, "", "/");
  renderTopbar();
  renderSignIn(freshView(), { reason, onToken: start });
}

function renderView(view, path) {
  const ticket = /^\/tickets\/([^/]+)\/?$/.exec(path);
  if (ticket) return renderDetails(view, { me, ticketId: decodeURIComponent(ticket[1]) });
  if (path === "/handler") return renderQueues(view, { me });
  if (path === "/admin/handlers") return renderHandlers(view, { me });
  if (path === "/admin/canned-replies") return renderCannedReplies(view, { me });
  if (path === "/admin/reports") return renderReports(view, { me });
  if (path === "/settings/notifications") return renderNotificationSettings(view, { me });
  return renderManagement(view, { me });
}

async function route() {
  leaveView();
  renderTopbar();
  const view = freshView();
  try {
    await renderView(view, location.pathname);
  } catch (error) {
    // a view ends in content or an alert, never in "Loading…" for ever (issue 29)
    console.error(error);
    const alert = alertBox();
    view.replaceChildren(h("h1", {}, "This page could not be shown"), alert,
      h("p", {}, h("button", { type: "button", class: "secondary", onclick: () => route() }, "Try again"), " ",
        h("a", { href: "/", "data-route": true }, "Back to Ticket Management")));
    alert.show(error instanceof Error ? error.message || "Something went wrong." : String(error));
  }
}

async function start() {
  main.replaceChildren(h("p", { class: "loading", role: "status" }, "Signing in…"));
  try {
    const [caller, types] = await Promise.all([get("/me"), get("/ticket-types")]);
    me = caller;
    setTypes(types);
    bell = notificationsButton();
    startLive(liveBanner);
  } catch (error) {
    if (session.token()) signOut(error.message);
    return;
  }
  await route();
  main.focus({ preventScroll: true });
}

whenSignedOut((reason) => {
  if (me || session.token()) signOut(`Signed out: ${reason}`);
});

document.addEventListener("click", (event) => {
  const anchor = event.target.closest("a[data-route]");
  if (!anchor || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute("href"));
});
window.addEventListener("popstate", () => me && route());
window.addEventListener("console:navigate", () => me && route());

takeTokenFromAddress();
if (session.token()) start();
else signOut(null);
