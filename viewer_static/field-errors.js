// A rejected value shown at its field: marked invalid, the message tied to it (aria-describedby), focused.

import { errorText } from "./notices.js";

export function clearFieldErrors(host) {
  for (const el of host.querySelectorAll(".invalid")) el.classList.remove("invalid");
  for (const el of host.querySelectorAll(".field-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of host.querySelectorAll("[aria-invalid]")) {
    el.removeAttribute("aria-invalid");
    const ids = (el.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && !x.endsWith("-error"));
    if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
    else el.removeAttribute("aria-describedby");
  }
}

// The API names the offending field as a dotted path ("llm.temperature", "business_hours.days.0"): show the
// message at the closest field the form has.
export function showFieldError(host, path, message) {
  const target = closestField(host, String(path).split("."));
  if (!target) return false;
  const ownMessage = String(message).split("; ").find((part) => part.startsWith(`${path}:`));
  const text = (ownMessage ? ownMessage.slice(path.length + 1).trim() : String(message)).replace(/^Value error, /, "");
  target.classList.add("invalid");
  const error = target.querySelector(".field-error");
  if (error) {
    error.hidden = false;
    error.textContent = text;
  }
  const control = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
  if (control) markInvalid(target, control, error);
  return true;
}

// The path itself, then its parents; then the last name alone (a list entry: "mappings.0.tenant_id").
function closestField(host, parts) {
  const candidates = parts.map((_, i) => parts.slice(0, parts.length - i).join("."));
  candidates.push(parts.at(-1));
  for (const candidate of candidates) {
    const target = host.querySelector(`[data-path="${CSS.escape(candidate)}"]`);
    if (target) return target;
  }
  return null;
}

function markInvalid(target, control, error) {
  control.setAttribute("aria-invalid", "true");
  if (error && error.id) {
    const ids = new Set((control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    ids.add(error.id);
    control.setAttribute("aria-describedby", [...ids].join(" "));
  }
  const details = target.closest("details");
  if (details) details.open = true;
  control.focus();
}

// A form's own error line (`error`) with the API's message, and the field it names marked.
export function showFormError(form, error, err) {
  error.hidden = false;
  error.textContent = errorText(err);
  if (err.field) showFieldError(form, err.field, err.message);
}

export function clearFormError(form, error) {
  error.hidden = true;
  clearFieldErrors(form);
}
