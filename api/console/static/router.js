// Moving between the console's addresses without a reload; app.js renders the new one.

export function navigate(path) {
  history.pushState(null, "", path);
  window.dispatchEvent(new Event("console:navigate"));
}
