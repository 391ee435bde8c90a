// The `config` document as a form, and any document as JSON. Fields the form does not know stay untouched.

import { field, h } from "../dom.js";
import { t } from "../i18n.js";
import { clone, getPath, setPath } from "../objects.js";

const FORM = [
  { key: "company", fields: [
    { path: "company.name", kind: "text", required: true },
    { path: "company.language", kind: "text", list: ["pt-BR", "en", "es"] },
    { path: "company.timezone", kind: "text", list: ["America/Sao_Paulo", "America/Manaus", "America/Recife"] },
  ] },
  { key: "assistant", fields: [
    { path: "assistant.name", kind: "text" },
    { path: "assistant.greeting", kind: "textarea" },
    { path: "assistant.style", kind: "select", options: ["friendly", "formal", "neutral", "technical"], default: "friendly" },
    { path: "assistant.emoji_usage", kind: "select", options: ["none", "low", "moderate", "high"], default: "moderate" },
  ] },
  { key: null, legend: "sec.general", fields: [
    { path: "enabled", kind: "checkbox", default: true },
    { path: "enabled_collections", kind: "list" },
  ] },
  { key: "chatwoot", optional: true, fields: [
    { path: "chatwoot.base_url", kind: "text", inputmode: "url" },
  ] },
  { key: "llm", optional: true, fields: [
    { path: "llm.model", kind: "text", nullable: true },
    { path: "llm.base_url", kind: "text", nullable: true, inputmode: "url" },
    { path: "llm.temperature", kind: "number", step: "0.1" },
    { path: "llm.timeout_s", kind: "number", step: "1" },
  ] },
  { key: "odoo", optional: true, fields: [
    { path: "odoo.url", kind: "text", inputmode: "url" },
    { path: "odoo.db", kind: "text" },
    { path: "odoo.username", kind: "text" },
    { path: "odoo.protocol", kind: "select", options: ["xmlrpc", "json2"], raw: true, default: "xmlrpc" },
    { path: "odoo.allow_write", kind: "checkbox", default: false },
    { path: "odoo.timeout_s", kind: "number", step: "1" },
  ] },
  { key: "handoff", fields: [
    { path: "handoff.keywords", kind: "list" },
    { path: "handoff.message", kind: "textarea" },
    { path: "handoff.min_confidence", kind: "number", step: "0.05" },
  ] },
  { key: "business_hours", optional: true, fields: [
    { path: "business_hours.days", kind: "days" },
    { path: "business_hours.start", kind: "text", placeholder: "09:00" },
    { path: "business_hours.end", kind: "text", placeholder: "18:00" },
  ] },
];

const labelFor = (path) => t(`f.${path}`);
const shown = (value) => (value === undefined || value === null ? "" : String(value));
const isBlank = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

// ------------------------------------------------------------------ document → form

export function buildConfigForm(doc) {
  const wrap = h("div", { class: "sections" });
  for (const section of FORM) {
    const legend = t(section.legend || `sec.${section.key}`);
    const present = section.key ? getPath(doc, section.key) !== undefined && getPath(doc, section.key) !== null : true;
    const fs = h("fieldset", { class: "section-box", dataset: section.key ? { path: section.key } : undefined },
      h("legend", {}, legend, section.optional ? h("span", { class: "muted small" }, ` (${t("sec.optional")})`) : null),
      h("p", { class: "field-error", id: `sec-${section.key || "general"}-error`, hidden: true }));
    for (const spec of section.fields) fs.append(buildInput(spec, present ? getPath(doc, spec.path) : undefined));
    wrap.append(fs);
  }
  return wrap;
}

function buildInput(spec, value) {
  const id = `cfg-${spec.path.replace(/\./g, "-")}`;
  if (spec.kind === "checkbox") return buildCheckbox(spec, id, value);
  if (spec.kind === "days") return buildDays(spec, id, value);
  const dataset = { kind: spec.kind, bind: spec.path, ...(spec.nullable ? { nullable: "1" } : {}) };
  const control = (CONTROLS[spec.kind] || textInput)({ id, dataset }, spec, value);
  const wrapper = field(labelFor(spec.path), control, { id, path: spec.path });
  if (spec.list) wrapper.append(h("datalist", { id: `${id}-list` }, spec.list.map((v) => h("option", { value: v }))));
  return wrapper;
}

function buildCheckbox(spec, id, value) {
  const input = h("input", { type: "checkbox", id, checked: value === undefined ? Boolean(spec.default) : value,
    dataset: { kind: spec.kind, bind: spec.path } });
  return h("div", { class: "field check", dataset: { path: spec.path } },
    input, h("label", { for: id }, labelFor(spec.path)),
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

function buildDays(spec, id, value) {
  const days = Array.isArray(value) ? value : [];
  return h("fieldset", { class: "field days", dataset: { path: spec.path, kind: "days", bind: spec.path } },
    h("legend", {}, labelFor(spec.path)),
    h("div", { class: "day-list" }, [0, 1, 2, 3, 4, 5, 6].map((d) => {
      const dayId = `${id}-${d}`;
      return h("span", { class: "day" },
        h("input", { type: "checkbox", id: dayId, value: String(d), checked: days.includes(d) }),
        h("label", { for: dayId }, t(`day.${d}`)));
    })),
    h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
}

// One builder per kind of field; `attrs` carries the id and the data-kind/data-bind that readInput uses.
const CONTROLS = {
  textarea(attrs, spec, value) {
    const control = h("textarea", { ...attrs, rows: "3" });
    control.value = value ?? "";
    return control;
  },
  select(attrs, spec, value) {
    const options = [...spec.options];
    if (value !== undefined && value !== null && !options.includes(value)) options.push(String(value));
    return h("select", attrs, options.map((o) =>
      h("option", { value: o, selected: o === (value ?? spec.default ?? spec.options[0]) }, spec.raw ? o : t(`opt.${o}`))));
  },
  number: (attrs, spec, value) =>
    h("input", { ...attrs, type: "number", step: spec.step, inputmode: "decimal", value: shown(value) }),
  list: (attrs, spec, value) =>
    h("input", { ...attrs, type: "text", autocomplete: "off", value: Array.isArray(value) ? value.join(", ") : value ?? "" }),
};

function textInput(attrs, spec, value) {
  return h("input", { ...attrs, type: "text", autocomplete: "off", spellcheck: "false",
    inputmode: spec.inputmode || null, placeholder: spec.placeholder || null,
    list: spec.list ? `${attrs.id}-list` : null, value: shown(value) });
}

// ------------------------------------------------------------------ form → document

function readInput(el) {
  const kind = el.dataset.kind;
  if (kind === "checkbox") return el.checked;
  if (kind === "days") {
    return [...el.querySelectorAll("input:checked")].map((input) => Number(input.value));
  }
  if (kind === "number") {
    const raw = el.value.trim();
    return raw === "" ? undefined : Number(raw);
  }
  if (kind === "list") return el.value.split(",").map((s) => s.trim()).filter(Boolean);
  if (kind === "textarea") return el.value;
  if (kind === "select") return el.value;
  const text = el.value.trim();
  if (el.dataset.nullable && text === "") return null;
  return text;
}

function isEmpty(el, value) {
  const kind = el.dataset.kind;
  if (kind === "select" || kind === "checkbox") return true; // defaults alone do not create a section
  if (Array.isArray(value)) return value.length === 0;
  return value === undefined || value === null || value === "";
}

// The document the form shows: the loaded document with the form's fields written over it. A field the document
// did not have is written only when the user gave it a value (not a blank, not the default the API applies anyway).
export function formToDoc(host, base) {
  const doc = clone(base) || {};
  for (const section of FORM) {
    const specs = section.fields.filter((spec) => host.querySelector(`[data-bind="${spec.path}"]`));
    const inputs = specs.map((spec) => host.querySelector(`[data-bind="${spec.path}"]`));
    const values = inputs.map((el) => readInput(el));
    const had = section.key ? doc[section.key] !== undefined && doc[section.key] !== null : true;
    if (section.optional && !had && inputs.every((el, i) => isEmpty(el, values[i]))) continue;
    specs.forEach((spec, i) => {
      const value = values[i];
      if (getPath(base, spec.path) === undefined && (isBlank(value) || value === spec.default)) return;
      setPath(doc, spec.path, value);
    });
  }
  return doc;
}

// ------------------------------------------------------------------ JSON

export function buildJsonEditor(doc) {
  const textarea = h("textarea", { class: "code", rows: "24", spellcheck: "false", autocomplete: "off",
    autocapitalize: "off", "aria-describedby": "config-version" });
  textarea.value = JSON.stringify(doc, null, 2);
  return field(t("config.json.label"), textarea, { id: "config-json" });
}

// The JSON editor's text as a document; a text that is not a JSON object throws, with the message to show.
export function parseJsonDoc(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(t("config.json.bad", { message: err.message }));
  }
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error(t("config.json.object"));
  return data;
}
