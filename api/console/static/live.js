// Live updates (CONTRACT.md §6.3, §6.4): one EventSource per signed-in tab on /api/v1/me/stream.
// Views listen for "live:ticket", "live:notification" and "live:presence" on window; the
// banner says so while the stream is away, and the stream comes back by itself (the browser
// resends Last-Event-ID, so nothing is missed meanwhile).

import { API, session } from "./api.js";

const RETRY_MIN = 1000;
const RETRY_MAX = 15000;
let source = null;
let retry = RETRY_MIN;
let timer = null;
let banner = null;
let leaving = [];
let lastId = ""; // the last position seen: a new EventSource resumes from it
let away = false;

function show(away) {
  if (!banner) return;
  banner.hidden = !away;
}

function open() {
  clearTimeout(timer);
  const token = session.token();
  if (!token) return;
  // EventSource cannot send headers: the token goes as ?access_token= on this path only
  const query = new URLSearchParams({ access_token: token });
  if (lastId) query.set("last_event_id", lastId);
  source = new EventSource(`${API}/me/stream?${query}`);
  source.addEventListener("open", () => {
    retry = RETRY_MIN;
    show(false);
    // whatever happened between a view's first read and this stream's start
    window.dispatchEvent(new Event("live:open"));
    if (away) window.dispatchEvent(new Event("live:resumed"));
    away = false;
  });
  for (const name of ["ticket", "notification", "presence"]) {
    source.addEventListener(name, (event) => {
      if (event.lastEventId) lastId = event.lastEventId;
      window.dispatchEvent(new CustomEvent(`live:${name}`, { detail: JSON.parse(event.data) }));
    });
  }
  // the replay of a long absence was too deep: what the views show is read afresh
  source.addEventListener("reset", (event) => {
    if (event.lastEventId) lastId = event.lastEventId;
    window.dispatchEvent(new Event("live:open"));
  });
  // the stream ended with its token (or its maximum age): a new one, with the token now held
  source.addEventListener("expired", () => {
    source.close();
    source = null;
    timer = setTimeout(open, 0);
  });
  source.addEventListener("error", () => {
    away = true;
    show(true);
    if (source.readyState === EventSource.CLOSED) {
      // refused (a 401 or 503): the browser gives up, so try again later ourselves
      source = null;
      timer = setTimeout(open, retry);
      retry = Math.min(retry * 2, RETRY_MAX);
    }
  });
}

/** Start the tab's stream (once), with the banner that tells when it is away. */
export function startLive(element) {
  banner = element;
  if (!source) open();
}

/** Close the stream (sign-out). */
export function stopLive() {
  clearTimeout(timer);
  if (source) source.close();
  source = null;
  lastId = "";
  away = false;
  show(false);
}

/** Listen for a live event while the current view is shown. */
export function onLive(name, handler) {
  const listener = (event) => handler(event.detail);
  window.addEventListener(`live:${name}`, listener);
  whenLeaving(() => window.removeEventListener(`live:${name}`, listener));
}

/** Run `fn` when the current view is left (another address, sign-out). */
export function whenLeaving(fn) {
  leaving.push(fn);
}

/** Called by the router before it renders another view. */
export function leaveView() {
  const pending = leaving;
  leaving = [];
  for (const fn of pending) fn();
}
