// Config Viewer: plain DOM, no build step. Views: sign-in, tenants, mappings, vectorization, one tenant
// (configuration form/JSON, history with diff and restore, credentials, vectorization).

import { ApiError, adminKey, api, apiUrl, defaultApiUrl, setUnauthorizedHandler, signIn, signOut } from "./api.js";
import { countChanges, sideBySide, stableJson } from "./diff.js";
import { formatDate, lang, setLang, t } from "./i18n.js";

const CHANNELS = ["whatsapp", "instagram", "web_widget", "email", "api"];
const DEFAULT_COLLECTIONS = ["business_rules", "support_documents", "products"];
const CREDENTIAL_KEYS = [
  "chatwoot_api_access_token",
  "chatwoot_webhook_secret",
  "odoo_api_key",
  "llm_api_key",
  "vectorize_token",
];

// The `config` document as a form. Fields the form does not know stay untouched in the document.
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

const state = {
  route: null,
  tenants: null, // [{tenant_id, domain, config_types, updated_at}]
  mappings: null,
  editor: null, // {id, loaded, draft, mode, missing, keep}
  syncDraft: null,
};

// ------------------------------------------------------------------ DOM helpers

function h(tag, attrs = {}, ...children) {
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
function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

function main() {
  return document.getElementById("main");
}

function flash(message, kind = "ok") {
  const box = document.getElementById("status");
  box.className = `status ${kind}`;
  box.textContent = message;
}

function clearFlash() {
  const box = document.getElementById("status");
  box.className = "status";
  box.textContent = "";
}

function errorText(err) {
  if (err instanceof ApiError) {
    if (err.code === "network") return t("common.network", { url: err.message });
    if (err.unavailable) return t("common.unavailable", { detail: `${err.status}` });
    return t("common.error", { message: err.message });
  }
  return t("common.error", { message: err && err.message ? err.message : String(err) });
}

function problem(err) {
  const unavailable = err instanceof ApiError && err.unavailable;
  return h("p", { class: unavailable ? "notice unavailable" : "notice error", role: unavailable ? null : "alert" },
    errorText(err));
}

function loading() {
  return h("p", { class: "muted", text: t("common.loading") });
}

function field(labelText, control, { hint, id, path } = {}) {
  const controlId = id || control.id || nextId("f");
  control.id = controlId;
  const errorId = `${controlId}-error`;
  return h("div", { class: "field", dataset: path ? { path } : undefined },
    h("label", { for: controlId }, labelText),
    control,
    hint ? h("p", { class: "hint", id: `${controlId}-hint` }, hint) : null,
    h("p", { class: "field-error", id: errorId, hidden: true }));
}

function table(caption, columns, rows, { empty } = {}) {
  if (!rows.length) return h("p", { class: "muted", text: empty || t("common.none") });
  return h("div", { class: "table-wrap" },
    h("table", { class: "responsive" },
      caption ? h("caption", { class: "visually-hidden" }, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.map((cells) =>
        h("tr", {}, cells.map((cell, i) => h("td", { "data-label": columns[i] }, cell)))))));
}

// ------------------------------------------------------------------ object paths

function getPath(obj, path) {
  return path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), obj);
}

function setPath(obj, path, value) {
  const keys = path.split(".");
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!o[k] || typeof o[k] !== "object") o[k] = {};
    o = o[k];
  }
  if (value === undefined) delete o[keys.at(-1)];
  else o[keys.at(-1)] = value;
}

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));

// ------------------------------------------------------------------ routing

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "mappings") return { name: "mappings" };
  if (parts[0] === "vectorize") return { name: "vectorize" };
  if (parts[0] === "tenant" && parts.length >= 3) {
    return { name: "tenant", tenant: parts[1], domain: parts[2], tab: parts[3] || "config", type: parts[4] };
  }
  return { name: "tenants" };
}

function tenantHref(tenant, domain, tab = "config", type) {
  const parts = ["tenant", tenant, domain, tab];
  if (type) parts.push(type);
  return "#/" + parts.map(encodeURIComponent).join("/");
}

function render({ focus = false } = {}) {
  document.title = t("app.title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const langButton = document.getElementById("lang");
  langButton.textContent = t("lang.toggle");
  langButton.setAttribute("aria-label", t("lang.toggle.label"));
  langButton.setAttribute("lang", lang() === "en" ? "pt-BR" : "en");
  document.getElementById("nav").setAttribute("aria-label", t("nav.label"));

  const signedIn = Boolean(adminKey());
  document.getElementById("nav").hidden = !signedIn;
  document.getElementById("signout").hidden = !signedIn;
  const route = parseRoute();
  state.route = route;
  for (const link of document.querySelectorAll("#nav a")) {
    const active = link.dataset.route === route.name || (route.name === "tenant" && link.dataset.route === "tenants");
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const root = main();
  root.replaceChildren();
  if (!signedIn) {
    renderSignIn(root);
  } else if (route.name === "mappings") {
    renderMappings(root);
  } else if (route.name === "vectorize") {
    renderVectorizePage(root);
  } else if (route.name === "tenant") {
    renderTenant(root, route);
  } else {
    renderTenants(root);
  }
  if (focus) {
    const heading = root.querySelector("h1");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: false });
    }
  }
}

// ------------------------------------------------------------------ sign in

function renderSignIn(root, message) {
  const keyInput = h("input", { type: "password", name: "key", autocomplete: "off", spellcheck: "false",
    required: true, "aria-describedby": "signin-intro" });
  const urlInput = h("input", { type: "text", name: "api", inputmode: "url", value: apiUrl() || defaultApiUrl(),
    spellcheck: "false" });
  const error = h("p", { class: "notice error", role: "alert", hidden: !message }, message || "");
  const button = h("button", { type: "submit", class: "primary" }, t("signin.submit"));
  const form = h("form", { class: "card narrow", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const key = keyInput.value.trim();
    if (!key) {
      error.hidden = false;
      error.textContent = t("signin.empty");
      keyInput.focus();
      return;
    }
    button.disabled = true;
    button.textContent = t("signin.checking");
    signIn(key, urlInput.value);
    try {
      await api.check(key);
    } catch (err) {
      // Only a refusal of the key stops the sign-in; a missing or failing API is shown on each page instead.
      if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.code === "network")) {
        signOut();
        error.hidden = false;
        error.textContent = err.code === "network" ? errorText(err) : t("signin.rejected");
        button.disabled = false;
        button.textContent = t("signin.submit");
        keyInput.select();
        keyInput.focus();
        return;
      }
    }
    state.tenants = null;
    state.mappings = null;
    clearFlash();
    render({ focus: true });
  } },
  h("h1", {}, t("signin.title")),
  h("p", { id: "signin-intro" }, t("signin.intro")),
  field(t("signin.key"), keyInput, { id: "signin-key" }),
  h("details", {}, h("summary", {}, t("signin.advanced")),
    field(t("signin.api"), urlInput, { id: "signin-api", hint: t("signin.api.hint") })),
  error,
  h("div", { class: "actions" }, button));
  root.append(form);
  keyInput.focus();
}

// ------------------------------------------------------------------ shared loaders

async function loadTenants(force = false) {
  if (!state.tenants || force) {
    const data = await api.tenants();
    state.tenants = (data && data.tenants) || [];
  }
  return state.tenants;
}

async function loadMappings(force = false) {
  if (!state.mappings || force) {
    const data = await api.mappings();
    state.mappings = (data && data.mappings) || [];
  }
  return state.mappings;
}

function mappingLabel(m) {
  const inbox = m.chatwoot_inbox_id === null || m.chatwoot_inbox_id === undefined
    ? t("common.all_inboxes") : `${t("mappings.col.inbox").toLowerCase()} ${m.chatwoot_inbox_id}`;
  const channel = m.channel ? ` · ${m.channel}` : "";
  return `${t("mappings.col.account").toLowerCase()} ${m.chatwoot_account_id} · ${inbox}${channel}`;
}

// ------------------------------------------------------------------ tenants

function renderTenants(root) {
  const filter = h("input", { type: "search", autocomplete: "off" });
  const list = h("div", {}, loading());
  const count = h("p", { class: "muted" });
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, t("tenants.title")),
      h("button", { type: "button", onclick: () => { state.tenants = null; state.mappings = null; render(); } },
        t("common.refresh"))),
    h("div", { class: "toolbar" }, field(t("tenants.filter"), filter, { id: "tenant-filter" }), count),
    list,
    newTenantForm());

  Promise.all([loadTenants(), loadMappings().catch((err) => err)]).then(([tenants, mappings]) => {
    const draw = () => {
      const q = filter.value.trim().toLowerCase();
      const shown = tenants.filter((x) => !q || `${x.tenant_id} ${x.domain}`.toLowerCase().includes(q));
      count.textContent = t("tenants.count", { n: shown.length });
      const mapped = (x) => {
        if (mappings instanceof Error) return h("span", { class: "muted" }, errorText(mappings));
        const mine = mappings.filter((m) => m.tenant_id === x.tenant_id && (m.domain || "default") === x.domain);
        return mine.length ? h("ul", { class: "plain" }, mine.map((m) => h("li", {}, mappingLabel(m))))
          : h("span", { class: "muted" }, t("common.none"));
      };
      fill(list,
        !tenants.length ? h("p", { class: "muted" }, t("tenants.empty"))
          : !shown.length ? h("p", { class: "muted" }, t("tenants.none_match", { q: filter.value }))
            : table(t("tenants.title"),
              [t("tenants.col.tenant"), t("tenants.col.domain"), t("tenants.col.types"), t("tenants.col.updated"),
                t("tenants.col.mappings")],
              shown.map((x) => [
                h("a", { href: tenantHref(x.tenant_id, x.domain) }, x.tenant_id),
                x.domain,
                h("span", {}, (x.config_types || []).map((type) => h("span", { class: "badge" }, type))),
                formatDate(x.updated_at),
                mapped(x),
              ])));
    };
    filter.addEventListener("input", draw);
    draw();
  }).catch((err) => fill(list, problem(err)));
}

function newTenantForm() {
  const tenant = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true });
  const domain = h("input", { type: "text", autocomplete: "off", value: "default", required: true });
  const company = h("input", { type: "text", autocomplete: "off", required: true });
  const error = h("p", { class: "notice error", role: "alert", hidden: true });
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hidden = true;
    clearFieldErrors(form);
    try {
      await api.putDoc(tenant.value.trim(), domain.value.trim(), "config", { company: { name: company.value.trim() } });
      state.tenants = null;
      location.hash = tenantHref(tenant.value.trim(), domain.value.trim());
    } catch (err) {
      error.hidden = false;
      error.textContent = errorText(err);
      if (err.field) showFieldError(form, err.field, err.message);
    }
  } },
  field(t("tenants.col.tenant"), tenant, { path: "tenant_id" }),
  field(t("tenants.col.domain"), domain, { path: "domain" }),
  field(t("tenants.new.company"), company, { path: "company.name" }),
  error,
  h("div", { class: "actions" }, h("button", { type: "submit" }, t("tenants.new.create"))));
  return h("details", { class: "section" }, h("summary", {}, t("tenants.new")), form);
}

// ------------------------------------------------------------------ mappings

function renderMappings(root) {
  const list = h("div", {}, loading());
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("mappings.title"))),
    h("p", {}, t("mappings.intro")),
    list,
    mappingForm(() => drawMappings(list, true)));
  drawMappings(list, false);
}

async function drawMappings(list, force, filterTenant) {
  try {
    const mappings = await loadMappings(force);
    const shown = filterTenant
      ? mappings.filter((m) => m.tenant_id === filterTenant.tenant && (m.domain || "default") === filterTenant.domain)
      : mappings;
    const sorted = [...shown].sort((a, b) =>
      a.chatwoot_account_id - b.chatwoot_account_id || (a.chatwoot_inbox_id ?? -1) - (b.chatwoot_inbox_id ?? -1));
    fill(list, table(t("mappings.title"),
      [t("mappings.col.account"), t("mappings.col.inbox"), t("mappings.col.tenant"), t("mappings.col.domain"),
        t("mappings.col.channel"), t("mappings.col.actions")],
      sorted.map((m) => [
        String(m.chatwoot_account_id),
        m.chatwoot_inbox_id ?? t("common.all_inboxes"),
        h("a", { href: tenantHref(m.tenant_id, m.domain || "default") }, m.tenant_id),
        m.domain || "default",
        m.channel || t("mappings.channel.auto"),
        deleteMappingButton(m, () => drawMappings(list, true, filterTenant)),
      ]), { empty: t("mappings.empty") }));
  } catch (err) {
    fill(list, problem(err));
  }
}

function deleteMappingButton(m, after) {
  const box = h("span", { class: "inline-actions" });
  const inbox = m.chatwoot_inbox_id ?? t("common.all_inboxes");
  const ask = () => {
    fill(box,
      h("span", {}, t("mappings.confirm", { account: m.chatwoot_account_id, inbox })),
      h("button", { type: "button", class: "danger", onclick: async () => {
        try {
          await api.deleteMapping(m.chatwoot_account_id, m.chatwoot_inbox_id);
          flash(t("mappings.deleted"));
          after();
        } catch (err) {
          flash(errorText(err), "error");
        }
      } }, t("common.delete")),
      h("button", { type: "button", onclick: reset }, t("common.cancel")));
    box.querySelector("button").focus();
  };
  const reset = () => fill(box, h("button", { type: "button", onclick: ask,
    "aria-label": `${t("common.delete")} ${m.chatwoot_account_id} / ${inbox}` }, t("common.delete")));
  reset();
  return box;
}

function mappingForm(after, fixed) {
  const account = h("input", { type: "number", min: "1", inputmode: "numeric", required: true });
  const inbox = h("input", { type: "number", min: "1", inputmode: "numeric" });
  const tenant = h("input", { type: "text", autocomplete: "off", value: fixed ? fixed.tenant : "", list: "tenant-ids" });
  const domain = h("input", { type: "text", autocomplete: "off", value: fixed ? fixed.domain : "default" });
  const channel = h("select", {}, h("option", { value: "" }, t("mappings.channel.auto")),
    CHANNELS.map((c) => h("option", { value: c }, c)));
  const datalist = h("datalist", { id: "tenant-ids" },
    (state.tenants || []).map((x) => h("option", { value: x.tenant_id })));
  const error = h("p", { class: "notice error", role: "alert", hidden: true });
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.hidden = true;
    clearFieldErrors(form);
    const entry = {
      chatwoot_account_id: account.value === "" ? null : Number(account.value),
      chatwoot_inbox_id: inbox.value === "" ? null : Number(inbox.value),
      tenant_id: tenant.value.trim(),
      domain: domain.value.trim() || "default",
    };
    if (channel.value) entry.channel = channel.value;
    try {
      await api.putMappings([entry]);
      flash(t("mappings.saved"));
      account.value = "";
      inbox.value = "";
      after();
    } catch (err) {
      error.hidden = false;
      error.textContent = errorText(err);
      if (err.field) showFieldError(form, err.field, err.message);
    }
  } },
  h("div", { class: "grid" },
    field(t("mappings.col.account"), account, { path: "chatwoot_account_id" }),
    field(t("mappings.col.inbox"), inbox, { path: "chatwoot_inbox_id", hint: t("mappings.inbox.hint") }),
    field(t("mappings.col.tenant"), tenant, { path: "tenant_id" }),
    field(t("mappings.col.domain"), domain, { path: "domain" }),
    field(t("mappings.col.channel"), channel, { path: "channel" })),
  datalist,
  error,
  h("div", { class: "actions" }, h("button", { type: "submit" }, t("mappings.save"))));
  return h("details", { class: "section" }, h("summary", {}, t("mappings.add")), form);
}

// ------------------------------------------------------------------ one tenant

function renderTenant(root, route) {
  const tabs = [
    ["config", t("tab.config")],
    ["history", t("tab.history")],
    ["credentials", t("tab.credentials")],
    ["vectorize", t("tab.vectorize")],
  ];
  const body = h("div", { class: "tab-body" });
  const mappings = h("div", {}, loading());
  root.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, `← ${t("tenant.back")}`)),
    h("div", { class: "page-head" },
      h("h1", {}, route.tenant, " ", h("span", { class: "badge domain" }, route.domain))),
    h("details", { class: "section" },
      h("summary", {}, t("mappings.for_tenant")),
      mappings,
      mappingForm(() => drawMappings(mappings, true, route), route)),
    h("nav", { class: "tabs", "aria-label": t("tenant.tabs") },
      tabs.map(([id, label]) => h("a", { href: tenantHref(route.tenant, route.domain, id),
        "aria-current": route.tab === id ? "page" : null }, label))),
    body);
  drawMappings(mappings, false, route);
  if (route.tab === "history") renderHistory(body, route);
  else if (route.tab === "credentials") renderCredentials(body, route);
  else if (route.tab === "vectorize") renderVectorize(body, route.tenant);
  else renderConfig(body, route);
}

async function tenantTypes(route) {
  let types = [];
  try {
    const tenants = await loadTenants();
    const me = tenants.find((x) => x.tenant_id === route.tenant && x.domain === route.domain);
    types = (me && me.config_types) || [];
  } catch {
    types = [];
  }
  return [...new Set(["config", ...types])];
}

function typePicker(route, types, tab) {
  if (types.length < 2) return null;
  const select = h("select", { onchange: () => { location.hash = tenantHref(route.tenant, route.domain, tab, select.value); } },
    types.map((type) => h("option", { value: type, selected: type === (route.type || "config") }, type)));
  return h("div", { class: "toolbar" }, field(t("config.type"), select, { id: `type-${tab}` }));
}

// ------------------------------------------------------------------ configuration editor

async function renderConfig(body, route) {
  const type = route.type || "config";
  const id = `${route.tenant}/${route.domain}/${type}`;
  fill(body, loading());
  const types = (await tenantTypes(route)).filter((x) => x !== "credentials");
  let loaded = null;
  let missing = false;
  if (state.editor && state.editor.id === id && state.editor.keep) {
    ({ loaded, missing } = state.editor);
  } else {
    try {
      loaded = await api.getDoc(route.tenant, route.domain, type);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404 && !err.unavailable) {
        missing = true;
      } else {
        fill(body, problem(err));
        return;
      }
    }
    state.editor = { id, loaded, missing, draft: clone(loaded ? loaded.data : {}) || {},
      mode: state.editor && state.editor.mode ? state.editor.mode : "form", keep: false };
  }
  const editor = state.editor;
  editor.keep = false;
  const hasForm = type === "config";
  if (!hasForm) editor.mode = "json";

  const formHost = h("div");
  const banner = h("div", { class: "banner-host" });
  const version = h("p", { class: "version-line" },
    missing ? t("config.missing", { type }) : t("config.status", { version: loaded.version, when: formatDate(loaded.updated_at) }));

  const saveButton = h("button", { type: "submit", class: "primary" }, t("common.save"));
  const form = h("form", { class: "config-form", novalidate: true, "aria-describedby": "config-version",
    onsubmit: (event) => { event.preventDefault(); save(); } });
  version.id = "config-version";

  const modeName = nextId("mode");
  const modes = hasForm ? h("fieldset", { class: "segmented" },
    h("legend", {}, t("config.view")),
    ["form", "json"].map((mode) => {
      const input = h("input", { type: "radio", name: modeName, value: mode, checked: editor.mode === mode,
        id: `${modeName}-${mode}`, onchange: () => switchMode(mode) });
      return h("span", {}, input, h("label", { for: input.id }, t(`config.view.${mode}`)));
    })) : h("p", { class: "muted" }, t("config.form.only_json"));

  function drawEditor() {
    fill(formHost, editor.mode === "form" ? buildConfigForm(editor.draft) : buildJsonEditor(editor.draft));
  }

  function currentDoc() {
    if (editor.mode === "form") return formToDoc(formHost, editor.draft);
    const textarea = formHost.querySelector("textarea");
    let data;
    try {
      data = JSON.parse(textarea.value);
    } catch (err) {
      throw new ApiError(400, "invalid_json", t("config.json.bad", { message: err.message }));
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) {
      throw new ApiError(400, "invalid_json", t("config.json.object"));
    }
    return data;
  }

  function switchMode(mode) {
    clearBanner();
    try {
      editor.draft = currentDoc();
    } catch (err) {
      showBanner(err.message, "error");
      form.querySelector(`input[value="${editor.mode}"]`).checked = true;
      return;
    }
    editor.mode = mode;
    drawEditor();
  }

  function clearBanner() {
    banner.replaceChildren();
    clearFieldErrors(formHost);
  }

  function showBanner(message, kind, extra) {
    fill(banner, h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" },
      h("p", {}, message), extra || null));
  }

  async function save() {
    clearBanner();
    let data;
    try {
      data = currentDoc();
    } catch (err) {
      showBanner(err.message, "error");
      return;
    }
    editor.draft = data;
    saveButton.disabled = true;
    saveButton.textContent = t("common.saving");
    try {
      const result = await api.putDoc(route.tenant, route.domain, type, data, missing ? null : loaded.version);
      const fresh = await api.getDoc(route.tenant, route.domain, type).catch(() => null);
      state.tenants = null;
      state.editor = { id, loaded: fresh || { ...loaded, version: result.version, data }, missing: false,
        draft: clone(fresh ? fresh.data : data), mode: editor.mode, keep: true };
      flash(t("config.saved", { version: result.version }));
      renderConfig(body, route);
      return;
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        showBanner(t("config.stale", { version: loaded.version }), "error",
          h("button", { type: "button", onclick: () => { state.editor = null; renderConfig(body, route); } },
            t("common.reload")));
      } else if (err instanceof ApiError && err.field) {
        showBanner(t("config.invalid", { message: err.message }), "error",
          h("p", {}, t("config.invalid_field", { field: err.field })));
        if (editor.mode === "form") showFieldError(formHost, err.field, err.message);
      } else {
        showBanner(errorText(err), "error");
      }
    }
    saveButton.disabled = false;
    saveButton.textContent = t("common.save");
  }

  state.syncDraft = () => {
    try {
      editor.draft = currentDoc();
      editor.keep = true;
    } catch {
      editor.keep = false;
    }
  };
  append(form, [modes, banner, formHost, h("div", { class: "actions sticky" }, saveButton)]);
  fill(body, typePicker(route, types, "config"), version, form);
  drawEditor();
}

function labelFor(path) {
  return t(`f.${path}`);
}

function buildConfigForm(doc) {
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
  const label = labelFor(spec.path);
  if (spec.kind === "checkbox") {
    const input = h("input", { type: "checkbox", id, checked: value === undefined ? Boolean(spec.default) : value,
      dataset: { kind: spec.kind, bind: spec.path } });
    return h("div", { class: "field check", dataset: { path: spec.path } },
      input, h("label", { for: id }, label),
      h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
  }
  if (spec.kind === "days") {
    const days = Array.isArray(value) ? value : [];
    return h("fieldset", { class: "field days", dataset: { path: spec.path, kind: "days", bind: spec.path } },
      h("legend", {}, label),
      h("div", { class: "day-list" }, [0, 1, 2, 3, 4, 5, 6].map((d) => {
        const dayId = `${id}-${d}`;
        return h("span", { class: "day" },
          h("input", { type: "checkbox", id: dayId, value: String(d), checked: days.includes(d) }),
          h("label", { for: dayId }, t(`day.${d}`)));
      })),
      h("p", { class: "field-error", id: `${id}-error`, hidden: true }));
  }
  let control;
  const common = { id, dataset: { kind: spec.kind, bind: spec.path, nullable: spec.nullable ? "1" : null } };
  if (!spec.nullable) delete common.dataset.nullable;
  if (spec.kind === "textarea") {
    control = h("textarea", { ...common, rows: "3" });
    control.value = value ?? "";
  } else if (spec.kind === "select") {
    const options = [...spec.options];
    if (value !== undefined && value !== null && !options.includes(value)) options.push(String(value));
    control = h("select", common, options.map((o) =>
      h("option", { value: o, selected: o === (value ?? spec.default ?? spec.options[0]) }, spec.raw ? o : t(`opt.${o}`))));
  } else if (spec.kind === "number") {
    control = h("input", { ...common, type: "number", step: spec.step, inputmode: "decimal",
      value: value === undefined || value === null ? "" : String(value) });
  } else if (spec.kind === "list") {
    control = h("input", { ...common, type: "text", autocomplete: "off",
      value: Array.isArray(value) ? value.join(", ") : value ?? "" });
  } else {
    control = h("input", { ...common, type: "text", autocomplete: "off", spellcheck: "false",
      inputmode: spec.inputmode || null, placeholder: spec.placeholder || null,
      list: spec.list ? `${id}-list` : null, value: value === undefined || value === null ? "" : String(value) });
  }
  const wrapper = field(label, control, { id, path: spec.path });
  if (spec.list) wrapper.append(h("datalist", { id: `${id}-list` }, spec.list.map((v) => h("option", { value: v }))));
  return wrapper;
}

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

const isBlank = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

// The document the form shows: the loaded document with the form's fields written over it. A field the document
// did not have is written only when the user gave it a value (not a blank, not the default the API applies anyway).
function formToDoc(host, base) {
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

function clearFieldErrors(host) {
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
function showFieldError(host, path, message) {
  const parts = String(path).split(".");
  // The path itself, then its parents; then the last name alone (a list entry: "mappings.0.tenant_id").
  const candidates = parts.map((_, i) => parts.slice(0, parts.length - i).join("."));
  candidates.push(parts.at(-1));
  let target = null;
  for (const candidate of candidates) {
    target = host.querySelector(`[data-path="${CSS.escape(candidate)}"]`);
    if (target) break;
  }
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
  if (control) {
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
  return true;
}

function buildJsonEditor(doc) {
  const textarea = h("textarea", { class: "code", rows: "24", spellcheck: "false", autocomplete: "off",
    autocapitalize: "off", "aria-describedby": "config-version" });
  textarea.value = JSON.stringify(doc, null, 2);
  return field(t("config.json.label"), textarea, { id: "config-json" });
}

// ------------------------------------------------------------------ history, diff, restore

function normalizeVersions(data) {
  const list = Array.isArray(data) ? data : (data && (data.versions || data.items)) || [];
  return list.map((v) => (typeof v === "number" ? { version: v } : v)).sort((a, b) => b.version - a.version);
}

async function renderHistory(body, route) {
  const type = route.type || "config";
  fill(body, loading());
  const types = await tenantTypes(route);
  if (!types.includes("credentials")) types.push("credentials");
  let versions;
  try {
    versions = normalizeVersions(await api.versions(route.tenant, route.domain, type));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !err.unavailable) {
      versions = [];
    } else {
      fill(body, typePicker(route, types, "history") || "", problem(err));
      return;
    }
  }
  const isSecret = type === "credentials";
  const cache = new Map();
  const fetchVersion = async (n) => {
    if (!cache.has(n)) cache.set(n, api.getDoc(route.tenant, route.domain, type, n));
    return cache.get(n);
  };
  const current = versions.length ? versions[0].version : null;
  const diffHost = h("div", { class: "diff-host" });
  const leftSel = h("select", { id: "diff-left" });
  const rightSel = h("select", { id: "diff-right" });
  for (const v of versions) {
    const label = `${v.version}${v.version === current ? ` (${t("history.current")})` : ""}`;
    leftSel.append(h("option", { value: String(v.version) }, label));
    rightSel.append(h("option", { value: String(v.version) }, label));
  }
  if (versions.length) {
    rightSel.value = String(versions[0].version);
    leftSel.value = String((versions[1] || versions[0]).version);
  }
  const drawDiff = async () => {
    const l = Number(leftSel.value);
    const r = Number(rightSel.value);
    fill(diffHost, loading());
    try {
      const [a, b] = await Promise.all([fetchVersion(l), fetchVersion(r)]);
      fill(diffHost, diffTable(a, b));
    } catch (err) {
      fill(diffHost, problem(err));
    }
  };
  leftSel.addEventListener("change", drawDiff);
  rightSel.addEventListener("change", drawDiff);

  const restoreCell = (v) => {
    if (isSecret || v.version === current) return v.version === current ? h("span", { class: "badge" }, t("history.current")) : "";
    const box = h("span", { class: "inline-actions" });
    const reset = () => fill(box, h("button", { type: "button", onclick: ask,
      "aria-label": t("history.restore.confirm", { version: v.version }) }, t("history.restore")));
    const ask = () => {
      const confirm = h("button", { type: "button", class: "primary", onclick: async () => {
        confirm.disabled = true;
        try {
          const old = await fetchVersion(v.version);
          const result = await api.putDoc(route.tenant, route.domain, type, old.data, current);
          state.editor = null;
          state.tenants = null;
          flash(t("history.restored", { old: v.version, version: result.version }));
          renderHistory(body, route);
        } catch (err) {
          confirm.disabled = false;
          flash(err instanceof ApiError && err.status === 412 ? t("config.stale", { version: current }) : errorText(err),
            "error");
        }
      } }, t("history.restore.confirm", { version: v.version }));
      fill(box, h("span", {}, t("history.restore.ask", { version: v.version })), confirm,
        h("button", { type: "button", onclick: reset }, t("common.cancel")));
      confirm.focus();
    };
    reset();
    return box;
  };

  const compareButton = (v) => h("button", { type: "button", class: "link-button",
    onclick: () => {
      leftSel.value = String(v.version);
      rightSel.value = String(current);
      drawDiff();
      diffHost.scrollIntoView({ block: "nearest" });
    } }, `${t("history.compare")} ${v.version} ↔ ${current}`);

  fill(body,
    typePicker(route, types, "history") || "",
    h("h2", {}, t("history.title")),
    isSecret ? h("p", { class: "notice" }, t("history.no_restore_secrets")) : null,
    table(t("history.title"), [t("history.col.version"), t("history.col.updated"), t("history.col.actions")],
      versions.map((v) => [String(v.version), formatDate(v.updated_at),
        h("span", { class: "inline-actions" }, v.version !== current ? compareButton(v) : null, restoreCell(v))]),
      { empty: t("history.empty") }),
    versions.length > 1 ? h("section", { class: "section", "aria-labelledby": "diff-title" },
      h("h2", { id: "diff-title" }, t("history.diff")),
      h("div", { class: "grid two" }, field(t("history.left"), leftSel), field(t("history.right"), rightSel)),
      diffHost) : null);
  if (versions.length > 1) drawDiff();
}

const CONTEXT_LINES = 3;

// Unchanged runs longer than the context around changes fold into one "N unchanged lines" row.
function foldRows(rows, showAll) {
  if (showAll) return rows;
  const near = new Array(rows.length).fill(false);
  rows.forEach((row, i) => {
    if (row.kind === "same") return;
    for (let k = Math.max(0, i - CONTEXT_LINES); k <= Math.min(rows.length - 1, i + CONTEXT_LINES); k++) near[k] = true;
  });
  const out = [];
  for (let i = 0; i < rows.length; ) {
    if (near[i]) {
      out.push(rows[i]);
      i++;
      continue;
    }
    let j = i;
    while (j < rows.length && !near[j]) j++;
    out.push({ kind: "fold", count: j - i });
    i = j;
  }
  return out;
}

function diffTable(a, b) {
  const rows = sideBySide(stableJson(a.data), stableJson(b.data));
  const { removed, added } = countChanges(rows);
  const cell = (kind, n, text, side) => {
    const changed = kind === "change" || (side === "left" ? kind === "del" : kind === "add");
    const mark = changed ? (side === "left" ? "del" : "ins") : "";
    return h("td", { class: `code ${mark} ${text === undefined ? "blank" : ""}` },
      h("span", { class: "ln", "aria-hidden": "true" }, n ?? ""),
      changed ? h("span", { class: "visually-hidden" }, `${t(side === "left" ? "history.removed" : "history.added")}: `) : null,
      text === undefined ? "" : h("span", { class: "line" }, text));
  };
  const heading = (doc) => `${t("common.version", { version: doc.version })} · ${formatDate(doc.updated_at)}`;
  const body = h("tbody");
  const showAll = h("input", { type: "checkbox", id: nextId("unchanged"), onchange: () => draw() });
  const draw = () => fill(body, foldRows(rows, showAll.checked).map((row) => row.kind === "fold"
    ? h("tr", { class: "fold" }, h("td", { colspan: "2" }, t("history.folded", { n: row.count })))
    : h("tr", { class: row.kind }, cell(row.kind, row.ln, row.left, "left"), cell(row.kind, row.rn, row.right, "right"))));
  draw();
  return h("div", {},
    h("div", { class: "diff-head" },
      h("p", { class: "muted", role: "status" },
        removed || added ? t("history.changes", { removed, added }) : t("history.same")),
      h("span", { class: "inline-check" }, showAll, h("label", { for: showAll.id }, t("history.show_all")))),
    h("div", { class: "diff-wrap", tabindex: "0", role: "region", "aria-label": t("history.diff") },
      h("table", { class: "diff" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, heading(a)), h("th", { scope: "col" }, heading(b)))),
        body)));
}

// ------------------------------------------------------------------ credentials

function maskedText(value) {
  // Only ever show what the API masked; anything else is shown as "set" so a secret cannot slip through.
  if (typeof value === "string" && /^\*{2,}/.test(value)) return value;
  return "****";
}

async function renderCredentials(body, route) {
  fill(body, loading());
  let doc = null;
  try {
    doc = await api.getDoc(route.tenant, route.domain, "credentials");
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404 && !err.unavailable)) {
      fill(body, problem(err));
      return;
    }
  }
  const data = (doc && doc.data) || {};
  const keys = [...new Set([...CREDENTIAL_KEYS, ...Object.keys(data)])];
  const inputs = new Map();
  const rows = keys.map((key) => {
    const input = h("input", { type: "password", id: `cred-${key}`, autocomplete: "new-password", spellcheck: "false",
      "aria-label": t("creds.replace", { key }) });
    inputs.set(key, input);
    const stored = data[key] !== undefined && data[key] !== null && data[key] !== "";
    return [h("code", {}, key), stored ? t("creds.set", { masked: maskedText(data[key]) }) : h("span", { class: "muted" }, t("creds.unset")), input];
  });
  const otherName = h("input", { type: "text", autocomplete: "off", spellcheck: "false" });
  const otherValue = h("input", { type: "password", autocomplete: "new-password" });
  const error = h("div", { class: "banner-host" });
  const button = h("button", { type: "submit", class: "primary" }, t("creds.save"));
  const form = h("form", { novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    error.replaceChildren();
    clearFieldErrors(form);
    const changes = {};
    for (const [key, input] of inputs) if (input.value !== "") changes[key] = input.value;
    if (otherName.value.trim() && otherValue.value !== "") changes[otherName.value.trim()] = otherValue.value;
    if (!Object.keys(changes).length) {
      fill(error, h("p", { class: "notice error", role: "alert" }, t("creds.nothing")));
      return;
    }
    button.disabled = true;
    try {
      const result = await api.putDoc(route.tenant, route.domain, "credentials", changes, doc ? doc.version : null);
      flash(t("creds.saved", { version: result.version, keys: Object.keys(changes).join(", ") }));
      renderCredentials(body, route);
    } catch (err) {
      button.disabled = false;
      fill(error, h("p", { class: "notice error", role: "alert" },
        err instanceof ApiError && err.status === 412 ? t("config.stale", { version: doc && doc.version }) : errorText(err)));
      if (err.field) {
        const input = inputs.get(err.field.split(".")[0]);
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      }
    } finally {
      // Typed secrets never linger in the page.
      for (const input of inputs.values()) input.value = "";
      otherValue.value = "";
    }
  } },
  table(t("creds.title"), [t("creds.col.key"), t("creds.col.state"), t("creds.col.new")], rows),
  h("fieldset", { class: "section-box" }, h("legend", {}, t("creds.other")),
    h("div", { class: "grid two" }, field(t("creds.other.name"), otherName), field(t("creds.other.value"), otherValue))),
  error,
  h("div", { class: "actions" }, button));
  fill(body,
    h("h2", {}, t("creds.title")),
    doc ? h("p", { class: "version-line" }, t("config.status", { version: doc.version, when: formatDate(doc.updated_at) })) : null,
    h("p", {}, t("creds.intro")),
    form);
}

// ------------------------------------------------------------------ vectorization

function renderVectorizePage(root) {
  const body = h("div");
  root.append(h("div", { class: "page-head" }, h("h1", {}, t("nav.vectorize"))), body);
  renderVectorize(body, null);
}

function normalizeCollections(data) {
  const list = Array.isArray(data) ? data : (data && (data.collections || data.items)) || [];
  return list.map((c) => (typeof c === "string" ? { name: c } : c));
}

function pointsOf(c) {
  for (const key of ["points_count", "points", "vectors_count", "count", "size"]) {
    if (typeof c[key] === "number") return String(c[key]);
  }
  return t("common.none");
}

function renderVectorize(body, fixedTenant) {
  const collectionsHost = h("div", {}, loading());
  const jobsHost = h("div", {});
  const resultsHost = h("div", { "aria-live": "polite" });
  const collectionSelect = h("select", {}, DEFAULT_COLLECTIONS.map((c) => h("option", { value: c }, c)));
  const tenantSelect = fixedTenant ? null : h("select", {}, h("option", { value: "" }, t("common.none")));
  const query = h("input", { type: "search", autocomplete: "off" });
  const limit = h("input", { type: "number", min: "1", max: "50", value: "5", inputmode: "numeric" });
  const currentTenant = () => fixedTenant || (tenantSelect && tenantSelect.value) || "";

  const drawJobs = async () => {
    const tenant = currentTenant();
    if (!tenant) {
      fill(jobsHost, h("p", { class: "muted" }, t("vec.jobs.pick")));
      return;
    }
    fill(jobsHost, loading());
    try {
      const data = await api.jobs(tenant);
      const jobs = Array.isArray(data) ? data : (data && (data.jobs || data.items)) || [];
      fill(jobsHost, table(t("vec.jobs"),
        [t("vec.col.job"), t("vec.col.collection"), t("vec.col.status"), t("vec.col.processed"), t("vec.col.failed"),
          t("vec.col.when")],
        jobs.map((job) => {
          const errors = Array.isArray(job.errors) ? job.errors : [];
          return [
            h("code", {}, String(job.job_id || job.id || "")),
            job.collection || t("common.none"),
            h("span", { class: `badge status-${job.status}` }, t(`vec.status.${job.status}`) === `vec.status.${job.status}`
              ? String(job.status) : t(`vec.status.${job.status}`)),
            job.total ? `${job.processed ?? 0} / ${job.total}` : String(job.processed ?? 0),
            errors.length ? h("details", {}, h("summary", {}, String(job.failed ?? errors.length)),
              h("ul", { class: "plain small" }, errors.slice(0, 20).map((e) => h("li", {}, typeof e === "string" ? e : JSON.stringify(e)))))
              : String(job.failed ?? 0),
            formatDate(job.updated_at || job.created_at || job.queued_at),
          ];
        }), { empty: t("vec.jobs.empty") }));
    } catch (err) {
      fill(jobsHost, problem(err));
    }
  };

  // Point counts are the chosen tenant's when there is one (the API filters by tenant_id), else every tenant's.
  const drawCollections = () => api.collections(currentTenant() || null).then((data) => {
    const collections = normalizeCollections(data);
    fill(collectionsHost, table(t("vec.collections"), [t("vec.col.name"), t("vec.col.points")],
      collections.map((c) => [h("code", {}, c.name), pointsOf(c)]), { empty: t("vec.collections.empty") }));
    const names = [...new Set([...collections.map((c) => c.name), ...DEFAULT_COLLECTIONS])];
    const chosen = collectionSelect.value;
    fill(collectionSelect, ...names.map((n) => h("option", { value: n, selected: n === chosen }, n)));
  }).catch((err) => fill(collectionsHost, problem(err)));
  drawCollections();

  if (tenantSelect) {
    loadTenants().then((tenants) => {
      for (const id of [...new Set(tenants.map((x) => x.tenant_id))]) tenantSelect.append(h("option", { value: id }, id));
    }).catch(() => {});
    tenantSelect.addEventListener("change", () => {
      drawJobs();
      drawCollections();
    });
  }

  const searchButton = h("button", { type: "submit", class: "primary" }, t("vec.search.go"));
  const searchForm = h("form", { class: "card", role: "search", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    const tenant = currentTenant();
    if (!tenant || !query.value.trim()) {
      fill(resultsHost, h("p", { class: "notice error", role: "alert" }, t("vec.search.need")));
      return;
    }
    searchButton.disabled = true;
    fill(resultsHost, loading());
    try {
      const data = await api.search(tenant, collectionSelect.value, query.value.trim(), Number(limit.value) || 5);
      const results = (data && data.results) || [];
      fill(resultsHost, results.length ? h("ol", { class: "results" }, results.map((r) =>
        h("li", {},
          h("p", { class: "score" }, t("vec.search.score", { score: Number(r.score).toFixed(3) }), " · ", h("code", {}, String(r.id))),
          h("p", { class: "result-text" }, r.text || ""),
          r.metadata && Object.keys(r.metadata).length ? h("dl", { class: "meta" },
            Object.entries(r.metadata).slice(0, 12).map(([k, v]) => [h("dt", {}, k),
              h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])) : null)))
        : h("p", { class: "muted" }, t("vec.search.none")));
    } catch (err) {
      fill(resultsHost, problem(err));
    }
    searchButton.disabled = false;
  } },
  h("h2", {}, t("vec.search")),
  h("p", { class: "muted" }, t("vec.search.intro")),
  h("div", { class: "grid" },
    field(t("vec.search.collection"), collectionSelect, { id: "search-collection" }),
    field(t("vec.search.limit"), limit, { id: "search-limit" })),
  field(t("vec.search.query"), query, { id: "search-query" }),
  h("div", { class: "actions" }, searchButton));

  fill(body,
    tenantSelect ? h("div", { class: "toolbar" }, field(t("vec.tenant"), tenantSelect, { id: "vec-tenant" })) : null,
    h("section", { class: "section", "aria-labelledby": "vec-collections" },
      h("h2", { id: "vec-collections" }, t("vec.collections")), collectionsHost),
    h("section", { class: "section", "aria-labelledby": "vec-jobs" },
      h("div", { class: "page-head" }, h("h2", { id: "vec-jobs" }, t("vec.jobs")),
        h("button", { type: "button", onclick: () => { drawJobs(); drawCollections(); } }, t("common.refresh"))),
      jobsHost),
    searchForm,
    resultsHost);
  drawJobs();
}

// ------------------------------------------------------------------ start

setUnauthorizedHandler(() => {
  signOut();
  state.tenants = null;
  state.mappings = null;
  state.editor = null;
  const root = main();
  render();
  root.replaceChildren();
  renderSignIn(root, t("signin.expired"));
});

document.getElementById("lang").addEventListener("click", () => {
  setLang(lang() === "en" ? "pt-BR" : "en");
  // Keep what is being typed in the configuration editor across the re-render.
  const route = parseRoute();
  if (route.name === "tenant" && route.tab === "config" && state.syncDraft && document.querySelector(".config-form")) {
    state.syncDraft();
  }
  render();
});

document.getElementById("signout").addEventListener("click", () => {
  signOut();
  state.tenants = null;
  state.mappings = null;
  state.editor = null;
  clearFlash();
  location.hash = "#/";
  render({ focus: true });
});

window.addEventListener("hashchange", () => {
  clearFlash();
  render({ focus: true });
});

setLang(lang());
render();
