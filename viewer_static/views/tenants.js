// Tenants: every tenant and domain with its documents, last update and mapped inboxes; a filter; a new tenant.

import { api } from "../api.js";
import { field, fill, h, loading, table } from "../dom.js";
import { clearFormError, showFormError } from "../field-errors.js";
import { formatDate, t } from "../i18n.js";
import { errorText, problem } from "../notices.js";
import { tenantHref } from "../routes.js";
import { loadMappings, loadTenants, state } from "../state.js";
import { mappingLabel } from "./mappings.js";

export function renderTenants(root, route, redraw) {
  const filter = h("input", { type: "search", autocomplete: "off" });
  const list = h("div", {}, loading());
  const count = h("p", { class: "muted" });
  const refresh = () => {
    state.tenants = null;
    state.mappings = null;
    redraw();
  };
  root.append(
    h("div", { class: "page-head" },
      h("h1", {}, t("tenants.title")),
      h("button", { type: "button", onclick: refresh }, t("common.refresh"))),
    h("div", { class: "toolbar" }, field(t("tenants.filter"), filter, { id: "tenant-filter" }), count),
    list,
    newTenantForm());
  Promise.all([loadTenants(), loadMappings().catch((err) => err)]).then(([tenants, mappings]) => {
    const draw = () => drawTenants(list, count, filter.value, tenants, mappings);
    filter.addEventListener("input", draw);
    draw();
  }).catch((err) => fill(list, problem(err)));
}

// `mappings` is the list, or the error that kept it from loading (the tenants still show).
function drawTenants(list, count, query, tenants, mappings) {
  const q = query.trim().toLowerCase();
  const shown = tenants.filter((x) => !q || `${x.tenant_id} ${x.domain}`.toLowerCase().includes(q));
  count.textContent = t("tenants.count", { n: shown.length });
  if (!tenants.length) return fill(list, h("p", { class: "muted" }, t("tenants.empty")));
  if (!shown.length) return fill(list, h("p", { class: "muted" }, t("tenants.none_match", { q: query })));
  fill(list, table(t("tenants.title"),
    [t("tenants.col.tenant"), t("tenants.col.domain"), t("tenants.col.types"), t("tenants.col.updated"),
      t("tenants.col.mappings")],
    shown.map((x) => [
      h("a", { href: tenantHref(x.tenant_id, x.domain) }, x.tenant_id),
      x.domain,
      h("span", {}, (x.config_types || []).map((type) => h("span", { class: "badge" }, type))),
      formatDate(x.updated_at),
      mappedInboxes(x, mappings),
    ])));
}

function mappedInboxes(tenant, mappings) {
  if (mappings instanceof Error) return h("span", { class: "muted" }, errorText(mappings));
  const mine = mappings.filter((m) => m.tenant_id === tenant.tenant_id && (m.domain || "default") === tenant.domain);
  return mine.length ? h("ul", { class: "plain" }, mine.map((m) => h("li", {}, mappingLabel(m))))
    : h("span", { class: "muted" }, t("common.none"));
}

function newTenantForm() {
  const tenant = h("input", { type: "text", autocomplete: "off", spellcheck: "false", required: true });
  const domain = h("input", { type: "text", autocomplete: "off", value: "default", required: true });
  const company = h("input", { type: "text", autocomplete: "off", required: true });
  const error = h("p", { class: "notice error", role: "alert", hidden: true });
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearFormError(form, error);
    try {
      await api.putDoc(tenant.value.trim(), domain.value.trim(), "config", { company: { name: company.value.trim() } });
      state.tenants = null;
      location.hash = tenantHref(tenant.value.trim(), domain.value.trim());
    } catch (err) {
      showFormError(form, error, err);
    }
  } },
  field(t("tenants.col.tenant"), tenant, { path: "tenant_id" }),
  field(t("tenants.col.domain"), domain, { path: "domain" }),
  field(t("tenants.new.company"), company, { path: "company.name" }),
  error,
  h("div", { class: "actions" }, h("button", { type: "submit" }, t("tenants.new.create"))));
  return h("details", { class: "section" }, h("summary", {}, t("tenants.new")), form);
}
