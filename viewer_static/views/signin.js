// Sign in with the admin key: checked against the API before the views open.

import { ApiError, api, apiUrl, defaultApiUrl, signIn, signOut } from "../api.js";
import { field, h } from "../dom.js";
import { t } from "../i18n.js";
import { errorText } from "../notices.js";

// `onSignedIn` runs once the key is accepted (or the API cannot say: each page shows that itself).
export function renderSignIn(root, { message, onSignedIn }) {
  const keyInput = h("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false",
    required: true, "aria-describedby": "signin-intro" });
  const urlInput = h("input", { type: "text", name: "api", inputmode: "url", value: apiUrl() || defaultApiUrl(),
    spellcheck: "false" });
  const error = h("p", { class: "notice error", role: "alert", hidden: !message }, message || "");
  const button = h("button", { type: "submit", class: "primary" }, t("signin.submit"));
  const refuse = (text) => {
    error.hidden = false;
    error.textContent = text;
    button.disabled = false;
    button.textContent = t("signin.submit");
    keyInput.select();
    keyInput.focus();
  };
  const submit = async (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) return refuse(t("signin.empty"));
    button.disabled = true;
    button.textContent = t("signin.checking");
    signIn(key, urlInput.value);
    const refusal = await checkKey(key);
    if (refusal) return refuse(refusal);
    onSignedIn();
  };
  root.append(h("form", { class: "card narrow", novalidate: true, onsubmit: submit },
    h("h1", {}, t("signin.title")),
    h("p", { id: "signin-intro" }, t("signin.intro")),
    field(t("signin.key"), keyInput, { id: "signin-key" }),
    h("details", {}, h("summary", {}, t("signin.advanced")),
      field(t("signin.api"), urlInput, { id: "signin-api", hint: t("signin.api.hint") })),
    error,
    h("div", { class: "actions" }, button)));
  keyInput.focus();
}

// The message to show when the key is refused or the API is unreachable; null when signing in may go on.
async function checkKey(key) {
  try {
    await api.check(key);
  } catch (err) {
    // Only a refusal of the key stops the sign-in; a missing or failing API is shown on each page instead.
    if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.code === "network")) {
      signOut();
      return err.code === "network" ? errorText(err) : t("signin.rejected");
    }
  }
  return null;
}
