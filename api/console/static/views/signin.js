// The sign-in page: the platform signs people in; a token can also be pasted here.

import { h } from "../ui.js";
import { session } from "../api.js";

export function renderSignIn(main, { reason, onToken }) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true, spellcheck: "false" });
  const form = h("form", { class: "card signin", onsubmit: (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    session.signIn(input.value);
    onToken();
  } },
  h("h1", {}, "Sign in to Ticketing"),
  h("p", {}, "The platform signs people in: open the console from the platform's Help › Ticket Management entry, or from the sign-in link you were given. Support staff can paste a token here."),
  reason ? h("div", { role: "alert", class: "alert" }, h("p", {}, reason)) : null,
  h("label", { for: "token" }, "Token"),
  input,
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Sign in")));
  main.replaceChildren(form);
  input.focus();
}
