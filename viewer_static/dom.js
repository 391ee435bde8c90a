// Building the page: `h` makes an element from attributes and children; the rest are the pieces every view uses.

import { t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name === "value") el.value = value;
    else if (name === "checked") el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

// replaceChildren that skips null/false children, like `h` does.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
export const nextId = (prefix) => `${prefix}-${++uid}`;

export function loading() {
  return h("p", { class: "muted", text: t("common.loading") });
}

export function field(labelText, control, { hint, id, path } = {}) {
  const controlId = id || control.id || nextId("f");
  control.id = controlId;
  const errorId = `${controlId}-error`;
  return h("div", { class: "field", dataset: path ? { path } : undefined },
    h("label", { for: controlId }, labelText),
    control,
    hint ? h("p", { class: "hint", id: `${controlId}-hint` }, hint) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }));
}

export function table(caption, columns, rows, { empty } = {}) {
  if (!rows.length) return h("p", { class: "muted", text: empty || t("common.none") });
  return h("div", { class: "table-wrap" },
    h("table", { class: "responsive" },
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((cells) =>
        h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)))))));
}

// A button that asks first: clicking it puts `question`, a confirming button and Cancel in its place.
// `onConfirm` gets the confirming button (to disable it while it works).
export function confirmingButton({ label, ariaLabel, question, confirmLabel, kind, onConfirm }) {
  const box = h("span", { class: "inline-actions" });
  const reset = () => fill(box, h("button", { type: "button", onclick: ask, "aria-label": ariaLabel }, label));
  const ask = () => {
    const confirm = h("button", { type: "button", class: kind, onclick: () => onConfirm(confirm) }, confirmLabel);
    fill(box, h("span", {}, question), confirm, h("button", { type: "button", onclick: reset }, t("common.cancel")));
    confirm.focus();
  };
  reset();
  return box;
}
