// The Submit Ticket dialog (CONTRACT.md §5): every type's rule is checked here before anything
// is sent, and again by the service; a refusal names the field in the role=alert element.

import { API, post, upload } from "../api.js";
import { navigate } from "../router.js";
import { FieldError, alertBox, fileField, filesFault, h, types } from "../ui.js";

const LABELS = {
  type: "Type", title: "Title", description: "Description", attachments: "Attachments",
  attachment_ids: "Attachments", email: "E-mail", verification: "Verification code",
  code: "Verification code", verification_id: "Verification code",
};

/** Every fault of the form at once (not only the first), or null. */
function check({ type, title, description, files, verificationId, code }) {
  const errors = {};
  const fault = (field, message) => { errors[field] = errors[field] || [message]; };
  if (!type) fault("type", "choose the kind of problem");
  if (!title.trim()) fault("title", "write a short title");
  if (title.trim().length > 200) fault("title", `at most 200 characters (now ${title.trim().length})`);
  if (!description.trim()) fault("description", "describe what happened");
  if (description.trim().length > 10000) fault("description", "at most 10,000 characters");
  const filesProblem = filesFault(files);
  if (filesProblem) fault("attachments", filesProblem);
  if (type === "change_owner" && !files.length) fault("attachments", "attach the filled application form (download it above)");
  if (type === "unbind_mfa" && !verificationId) fault("email", "send a code to your e-mail address first");
  if (type === "unbind_mfa" && !/^\d{6}$/.test(code.trim())) fault("verification", "enter the 6-digit code from the e-mail");
  return Object.keys(errors).length ? new FieldError(errors) : null;
}

export function openSubmit({ workspace }) {
  const alert = alertBox();
  // one key per submission attempt: a retry after a lost answer cannot file the ticket twice
  let idempotencyKey = crypto.randomUUID();
  let verificationId = null;
  const typeSelect = h("select", { id: "submit-type", required: true },
    h("option", { value: "" }, "Choose a type…"),
    types().map((type) => h("option", { value: type.code }, type.name)));
  const title = h("input", { id: "submit-title", maxlength: "200", autocomplete: "off" });
  const description = h("textarea", { id: "submit-description", rows: "6", maxlength: "10000" });
  // the field each refusal names, marked aria-invalid while the refusal shows
  const inputs = () => ({
    type: typeSelect, title, description, attachments: files.input, attachment_ids: files.input,
    email, verification: code, code, verification_id: code,
  });
  const files = fileField("submit-attachments", alert);
  const formLink = h("p", { class: "hint", hidden: true },
    "Fill in the application form, stamp it with the company seal and attach it. ",
    h("a", { href: `${API}/ticket-types/change_owner/application-form`, download: true }, "Download application form"));
  const email = h("input", { id: "submit-email", type: "email", autocomplete: "email" });
  const sent = h("p", { class: "hint", "aria-live": "polite" });
  const sendCode = h("button", { type: "button", class: "secondary" }, "Send code");
  const code = h("input", { id: "submit-code", inputmode: "numeric", autocomplete: "one-time-code", maxlength: "6" });
  const mfa = h("fieldset", { class: "mfa", hidden: true },
    h("legend", {}, "E-mail verification"),
    h("label", { for: "submit-email" }, "E-mail"),
    h("div", { class: "inline" }, email, sendCode),
    sent,
    h("label", { for: "submit-code" }, "Verification code"),
    code);
  const submit = h("button", { type: "submit", class: "primary" }, "Submit");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const form = h("form", { method: "dialog", novalidate: true },
    h("h2", { id: "submit-heading" }, "Submit Ticket"),
    h("p", { class: "muted" }, `Workspace ${workspace}`),
    alert,
    h("label", { for: "submit-type" }, "Type"), typeSelect,
    formLink,
    h("label", { for: "submit-title" }, "Title"), title,
    h("label", { for: "submit-description" }, "Description"), description,
    mfa,
    h("label", { for: "submit-attachments" }, "Attachments"),
    h("p", { class: "hint" }, "Up to 5 files of at most 8 MB: png gif jpg jpeg bmp doc docx pdf xlsx xls txt zip rar."),
    files.input, files.list,
    h("div", { class: "actions" }, cancel, submit));
  const dialog = h("dialog", { class: "submit", "aria-labelledby": "submit-heading" }, form);

  typeSelect.addEventListener("change", () => {
    formLink.hidden = typeSelect.value !== "change_owner";
    mfa.hidden = typeSelect.value !== "unbind_mfa";
    alert.clear();
  });
  sendCode.addEventListener("click", async () => {
    alert.clear();
    if (!email.value.trim()) {
      alert.show(new FieldError("email", "enter the e-mail address the code should go to"), LABELS, null, inputs());
      return;
    }
    sendCode.disabled = true;
    try {
      const answer = await post("/email-verifications", { email: email.value.trim() });
      verificationId = answer.verification_id;
      const until = new Date(answer.expires_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      sent.textContent = `A 6-digit code is on its way to ${email.value.trim()}; it works until ${until}.`;
      code.focus();
    } catch (error) {
      alert.show(error, LABELS, null, inputs());
    } finally {
      sendCode.disabled = false;
    }
  });
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => dialog.remove());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.clear();
    const chosen = [...files.input.files];
    const fault = check({ type: typeSelect.value, title: title.value, description: description.value, files: chosen, verificationId, code: code.value });
    if (fault) {
      alert.show(fault, LABELS, null, inputs());
      return;
    }
    submit.disabled = true;
    submit.textContent = chosen.length ? "Uploading…" : "Submitting…";
    try {
      const attachments = chosen.length ? await upload(chosen) : [];
      submit.textContent = "Submitting…";
      const body = { type: typeSelect.value, title: title.value, description: description.value };
      if (attachments.length) body.attachment_ids = attachments.map((attachment) => attachment.id);
      if (typeSelect.value === "unbind_mfa") body.verification = { verification_id: verificationId, code: code.value.trim() };
      const ticket = await post(`/workspaces/${encodeURIComponent(workspace)}/tickets`, body, { headers: { "Idempotency-Key": idempotencyKey } });
      dialog.close();
      navigate(`/tickets/${encodeURIComponent(ticket.id)}`);
    } catch (error) {
      if (error.status) idempotencyKey = crypto.randomUUID(); // refused: the next try is new
      alert.show(error, LABELS, null, inputs());
    } finally {
      submit.disabled = false;
      submit.textContent = "Submit";
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  typeSelect.focus();
}
