// The handler roster (CONTRACT.md §5, admins): who handles tickets, their roles, whether they
// are active; add a handler (each add starts from no roles; making an admin asks once), edit a
// handler's roles, activate or deactivate one.

import { call, get, post } from "../api.js";
import { FieldError, alertBox, confirmStep, emptyRow, h, skeletonRows } from "../ui.js";

const LABELS = { account_id: "Account id", name: "Name", roles: "Roles" };

export async function renderHandlers(main, { me }) {
  const alert = alertBox();
  const heading = h("h1", {}, "Handlers");
  if (!["admin", "auditor"].includes(me.role)) {
    main.replaceChildren(heading, alert);
    alert.show("Only admins manage the handler roster.");
    return;
  }
  const body = h("tbody", {}, skeletonRows(5, 3));
  const table = h("table", { class: "roster" },
    h("thead", {}, h("tr", {}, ["Account", "Name", "Roles", "Active", ""].map((name) => h("th", { scope: "col" }, name)))),
    body);
  const account = h("input", { id: "handler-account", autocomplete: "off" });
  const name = h("input", { id: "handler-name", autocomplete: "off" });
  const roleHandler = h("input", { type: "checkbox", id: "role-handler" });
  const roleAdmin = h("input", { type: "checkbox", id: "role-admin" });
  const add = h("form", { class: "card add-handler", onsubmit: async (event) => {
    event.preventDefault();
    alert.clear();
    const roles = [roleHandler.checked && "handler", roleAdmin.checked && "admin"].filter(Boolean);
    const fault = !account.value.trim() ? new FieldError("account_id", "enter the person's platform account id")
      : !name.value.trim() ? new FieldError("name", "enter the name people will see") : !roles.length ? new FieldError("roles", "choose at least one role") : null;
    if (fault) {
      alert.show(fault, LABELS);
      return;
    }
    if (roles.includes("admin") && !(await confirmStep(adminQuestion(name.value.trim())))) return;
    try {
      await post("/admin/handlers", { account_id: account.value.trim(), name: name.value.trim(), roles, active: true });
      account.value = "";
      name.value = "";
      roleHandler.checked = false; // the next person starts from no roles: none is carried over
      roleAdmin.checked = false;
      await load();
    } catch (error) {
      alert.show(error, LABELS);
    }
  } },
  h("h2", {}, "Add a handler"),
  h("div", { class: "filters" },
    h("div", { class: "field" }, h("label", { for: "handler-account" }, "Account id"), account),
    h("div", { class: "field" }, h("label", { for: "handler-name" }, "Name"), name),
    h("fieldset", { class: "field roles" }, h("legend", {}, "Roles"),
      h("label", { class: "check" }, roleHandler, " handler"),
      h("label", { class: "check" }, roleAdmin, " admin"))),
  h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Add handler")));
  main.replaceChildren(heading, h("p", { class: "muted" }, "Tickets can be forwarded to active handlers only."), alert,
    h("div", { class: "table-wrap" }, table), me.role === "admin" ? add : null);

  function editRoles(handler, cell) {
    const boxes = ["handler", "admin"].map((role) => h("input", { type: "checkbox", id: `edit-${role}`, checked: handler.roles.includes(role) }));
    const save = h("button", { type: "submit", class: "primary" }, "Save roles");
    const cancel = h("button", { type: "button", class: "secondary", onclick: () => load() }, "Cancel");
    const form = h("form", { class: "edit-roles", "aria-label": `Roles of ${handler.name}`, onsubmit: async (event) => {
      event.preventDefault();
      alert.clear();
      const others = handler.roles.filter((role) => !["handler", "admin"].includes(role));
      const roles = [...others, ...["handler", "admin"].filter((role, index) => boxes[index].checked)];
      if (!roles.length) {
        alert.show(new FieldError("roles", "keep at least one role, or deactivate the handler instead"), LABELS);
        return;
      }
      if (roles.includes("admin") && !handler.roles.includes("admin") && !(await confirmStep(adminQuestion(handler.name)))) return;
      try {
        await call("PATCH", `/admin/handlers/${encodeURIComponent(handler.account_id)}`, { body: { roles } });
        await load();
      } catch (error) {
        alert.show(error, LABELS);
      }
    } },
    h("label", { class: "check" }, boxes[0], " handler"),
    h("label", { class: "check" }, boxes[1], " admin"),
    save, cancel);
    cell.replaceChildren(form);
    boxes[0].focus();
  }

  async function toggle(handler) {
    alert.clear();
    try {
      await call("PATCH", `/admin/handlers/${encodeURIComponent(handler.account_id)}`, { body: { active: !handler.active } });
      await load();
    } catch (error) {
      alert.show(error, LABELS);
    }
  }
  async function load() {
    try {
      const handlers = await get("/admin/handlers");
      body.replaceChildren(...handlers.map((handler) => {
        const roles = h("td", { "data-label": "Roles" }, handler.roles.join(", ") || "none");
        return h("tr", { class: handler.active ? null : "inactive" },
          h("td", { "data-label": "Account" }, h("code", {}, handler.account_id)),
          h("td", { "data-label": "Name" }, handler.name),
          roles,
          h("td", { "data-label": "Active" }, handler.active ? "Active" : "Inactive"),
          h("td", { class: "row-actions" }, me.role === "admin" ? [
            h("button", { type: "button", class: "secondary", "aria-label": `Edit roles of ${handler.name}`, onclick: () => editRoles(handler, roles) }, "Edit roles"),
            h("button", { type: "button", class: "secondary", "aria-label": `${handler.active ? "Deactivate" : "Activate"} ${handler.name}`, onclick: () => toggle(handler) }, handler.active ? "Deactivate" : "Activate"),
          ] : null));
      }));
      if (!handlers.length) body.append(emptyRow(5, "No handlers yet. Add the first one below."));
    } catch (error) {
      body.replaceChildren(emptyRow(5, "The roster could not be loaded."));
      alert.show(error, LABELS);
    }
  }
  await load();
}

function adminQuestion(name) {
  return {
    title: `Make ${name || "this person"} an admin?`,
    consequence: "Admins manage the handler roster, read every ticket on the platform and its history, and see reports.",
    confirm: "Make admin",
  };
}
