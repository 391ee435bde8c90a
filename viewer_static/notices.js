// Telling the user what happened: the page's live status line, and an API error as a notice in a panel.

import { ApiError } from "./api.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

export function flash(message, kind = "ok") {
  const box = document.getElementById("status");
  box.className = `status ${kind}`;
  box.textContent = message;
}

export function clearFlash() {
  const box = document.getElementById("status");
  box.className = "status";
  box.textContent = "";
}

export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.code === "network") return t("common.network", { url: err.message });
    if (err.unavailable) return t("common.unavailable", { detail: `${err.status}` });
    return t("common.error", { message: err.message });
  }
  return t("common.error", { message: err && err.message ? err.message : String(err) });
}

// An endpoint this deployment does not have is a quiet "not available", anything else an alert.
export function problem(err) {
  const unavailable = err instanceof ApiError && err.unavailable;
  return h("p", { class: unavailable ? "notice unavailable" : "notice error", role: unavailable ? null : "alert" },
    errorText(err));
}

export function alertText(message) {
  return h("p", { class: "notice error", role: "alert" }, message);
}
