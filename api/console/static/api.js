// The console's only way to the service: /api/v1 on this origin, with the tab's bearer token.
// Errors arrive as problem+json (CONTRACT.md §2) and are thrown as ApiError.

const TOKEN_KEY = "ticketing.token";
const POSITION_KEY = "ticketing.position";
export const API = "/api/v1";
const TIMEOUT_MS = 20_000; // the API answers within 5 s or says 503; this is for a lost one
const LONG_TIMEOUT_MS = 300_000;

export class ApiError extends Error {
  /** A refused request: the service's problem document, in plain words. */
  constructor(status, problem) {
    super(problem.detail || problem.title || `The service answered ${status}.`);
    this.status = status;
    this.problem = problem;
    this.errors = problem.errors || {};
  }
}

export const session = {
  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token.trim());
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(POSITION_KEY);
  },
  /** The store position of this tab's last command: lists wait until they show it. */
  position() {
    return sessionStorage.getItem(POSITION_KEY);
  },
  remember(response) {
    const position = response.headers.get("X-Ticketing-Position");
    if (position && Number(position) > Number(this.position() || 0)) {
      sessionStorage.setItem(POSITION_KEY, position);
    }
  },
};

let onUnauthorized = () => {};

/** Called with the reason when the service refuses the token (401). */
export function whenSignedOut(handler) {
  onUnauthorized = handler;
}

async function problemOf(response) {
  const text = await response.text();
  try {
    const parsed = JSON.parse(text);
    if (parsed && typeof parsed === "object") return parsed;
  } catch {
    // not JSON: fall through to a plain description
  }
  return { title: response.statusText, status: response.status, detail: "" };
}

/**
 * One call to the API. `body` is sent as JSON, `form` as multipart; `wait` sends this tab's
 * last position so that a list shows the caller's own writes. Returns the parsed body, or the
 * Response itself with `raw`.
 */
export async function call(method, path, { body, form, headers = {}, wait = false, raw = false } = {}) {
  const sent = { ...headers };
  const token = session.token();
  if (token) sent.Authorization = `Bearer ${token}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  if (wait && session.position()) sent["X-Ticketing-Position"] = session.position();
  let response;
  try {
    response = await fetch(API + path, {
      method,
      headers: sent,
      body: form ?? (body === undefined ? undefined : JSON.stringify(body)),
      // an answer that never comes ends in an alert, not a view that loads for ever; uploads
      // and downloads (forms, raw answers) may take longer than a page's reads
      signal: AbortSignal.timeout(form || raw ? LONG_TIMEOUT_MS : TIMEOUT_MS),
    });
  } catch (error) {
    if (error && error.name === "TimeoutError") {
      throw new ApiError(0, { title: "No answer", detail: "The service did not answer in time. Try again." });
    }
    throw new ApiError(0, { title: "Offline", detail: "The service cannot be reached. Check the connection and try again." });
  }
  session.remember(response);
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 401) onUnauthorized(problem.detail || "The service refused the token.");
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path, options) => call("GET", path, options);
export const post = (path, body, options = {}) => call("POST", path, { ...options, body });

/** Upload files (1–5) as one multipart request; returns the attachments. */
export function upload(files) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  return call("POST", "/attachments", { form });
}

/** Fetch a file with the token and hand it to the browser as a download. */
export async function download(method, path, body, fallbackName) {
  const response = await call(method, path, { body, raw: true, wait: true });
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename="([^"]+)"/.exec(disposition);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = match ? match[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}
