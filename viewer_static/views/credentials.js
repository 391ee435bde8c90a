// The Credentials tab: each key shows only whether it is set and the API's mask. A new value is typed for just the
// keys to replace; only those are sent, and typed values are cleared from the page after saving.

import { api, isStale, unlessMissing } from "../api.js";
import { field, fill, h, loading, table } from "../dom.js";
import { clearFieldErrors } from "../field-errors.js";
import { formatDate, t } from "../i18n.js";
import { alertText, errorText, flash, problem } from "../notices.js";

const CREDENTIAL_KEYS = [
  "chatwoot_api_access_token",
  "chatwoot_webhook_secret",
  "odoo_api_key",
  "llm_api_key",
  "vectorize_token",
];

export async function renderCredentials(body, route) {
  fill(body, loading());
  let doc;
  try {
    doc = await unlessMissing(api.getDoc(route.tenant, route.domain, "credentials"));
  } catch (err) {
    fill(body, problem(err));
    return;
  }
  fill(body,
    h("h2", {}, t("creds.title")),
    doc ? h("p", { class: "version-line" }, t("config.status", { version: doc.version, when: formatDate(doc.updated_at) })) : null,
    h("p", {}, t("creds.intro")),
    credentialsForm(body, route, doc));
}

function credentialsForm(body, route, doc) {
  const data = (doc && doc.data) || {};
  const keys = [...new Set([...CREDENTIAL_KEYS, ...Object.keys(data)])];
  const f = {
    inputs: new Map(keys.map((key) => [key, h("input", { type: "password", id: `cred-${key}`,
      autocomplete: "new-password", spellcheck: "false", "aria-label": t("creds.replace", { key }) })])),
    otherName: h("input", { type: "text", autocomplete: "off", spellcheck: "false" }),
    otherValue: h("input", { type: "password", autocomplete: "new-password" }),
    error: h("div", { class: "banner-host" }),
    button: h("button", { type: "submit", class: "primary" }, t("creds.save")),
  };
  f.form = h("form", { novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    saveCredentials(body, route, doc, f);
  } },
  table(t("creds.title"), [t("creds.col.key"), t("creds.col.state"), t("creds.col.new")],
    keys.map((key) => [h("code", {}, key), storedState(data[key]), f.inputs.get(key)])),
  h("fieldset", { class: "section-box" }, h("legend", {}, t("creds.other")),
    h("div", { class: "grid two" }, field(t("creds.other.name"), f.otherName), field(t("creds.other.value"), f.otherValue))),
  f.error,
  h("div", { class: "actions" }, f.button));
  return f.form;
}

// Only ever show what the API masked; anything else is shown as "set" so a secret cannot slip through.
function storedState(value) {
  if (value === undefined || value === null || value === "") return h("span", { class: "muted" }, t("creds.unset"));
  return t("creds.set", { masked: typeof value === "string" && /^\*{2,}/.test(value) ? value : "****" });
}

async function saveCredentials(body, route, doc, f) {
  f.error.replaceChildren();
  clearFieldErrors(f.form);
  const changes = {};
  for (const [key, input] of f.inputs) if (input.value !== "") changes[key] = input.value;
  if (f.otherName.value.trim() && f.otherValue.value !== "") changes[f.otherName.value.trim()] = f.otherValue.value;
  if (!Object.keys(changes).length) {
    fill(f.error, alertText(t("creds.nothing")));
    return;
  }
  f.button.disabled = true;
  try {
    const result = await api.putDoc(route.tenant, route.domain, "credentials", changes, doc ? doc.version : null);
    flash(t("creds.saved", { version: result.version, keys: Object.keys(changes).join(", ") }));
    renderCredentials(body, route);
  } catch (err) {
    f.button.disabled = false;
    fill(f.error, alertText(isStale(err) ? t("config.stale", { version: doc && doc.version }) : errorText(err)));
    markRejectedKey(f.inputs, err);
  } finally {
    // Typed secrets never linger in the page.
    for (const input of f.inputs.values()) input.value = "";
    f.otherValue.value = "";
  }
}

function markRejectedKey(inputs, err) {
  const input = err.field ? inputs.get(err.field.split(".")[0]) : null;
  if (!input) return;
  input.setAttribute("aria-invalid", "true");
  input.focus();
}
