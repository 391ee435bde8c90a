// Mappings: Chatwoot account + inbox → tenant, domain, channel. Listed, added (an upsert) and removed; the tenant
// page shows the same list and form for its own tenant.

import { api } from "../api.js";
import { confirmingButton, field, fill, h, loading, table } from "../dom.js";
import { clearFormError, showFormError } from "../field-errors.js";
import { t } from "../i18n.js";
import { errorText, flash, problem } from "../notices.js";
import { tenantHref } from "../routes.js";
import { loadMappings, state } from "../state.js";

const CHANNELS = ["whatsapp", "instagram", "web_widget", "email", "api"];

export function renderMappings(root) {
  const list = h("div", {}, loading());
  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("mappings.title"))),
    h("p", {}, t("mappings.intro")),
    list,
    mappingForm(() => drawMappings(list, true)));
  drawMappings(list, false);
}

export function mappingLabel(m) {
  const inbox = m.chatwoot_inbox_id === null || m.chatwoot_inbox_id === undefined
    ? t("common.all_inboxes") : `${t("mappings.col.inbox").toLowerCase()} ${m.chatwoot_inbox_id}`;
  const channel = m.channel ? ` · ${m.channel}` : "";
  return `${t("mappings.col.account").toLowerCase()} ${m.chatwoot_account_id} · ${inbox}${channel}`;
}

// `filterTenant` ({tenant, domain}) keeps only that tenant's mappings.
export async function drawMappings(list, force, filterTenant) {
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

// Delete, then a confirmation in place (the account and inbox named) with Cancel.
function deleteMappingButton(m, after) {
  const inbox = m.chatwoot_inbox_id ?? t("common.all_inboxes");
  const remove = async () => {
    try {
      await api.deleteMapping(m.chatwoot_account_id, m.chatwoot_inbox_id, m.installation);
      flash(t("mappings.deleted"));
      after();
    } catch (err) {
      flash(errorText(err), "error");
    }
  };
  return confirmingButton({ label: t("common.delete"), ariaLabel: `${t("common.delete")} ${m.chatwoot_account_id} / ${inbox}`,
    question: t("mappings.confirm", { account: m.chatwoot_account_id, inbox }), confirmLabel: t("common.delete"),
    kind: "danger", onConfirm: remove });
}

// `fixed` ({tenant, domain}) fills in the tenant page's own tenant.
export function mappingForm(after, fixed) {
  const inputs = mappingInputs(fixed);
  const error = h("p", { class: "notice error", role: "alert", hidden: true });
  const form = h("form", { class: "card", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    clearFormError(form, error);
    try {
      await api.putMappings([mappingEntry(inputs)]);
      flash(t("mappings.saved"));
      inputs.account.value = "";
      inputs.inbox.value = "";
      after();
    } catch (err) {
      showFormError(form, error, err);
    }
  } },
  h("div", { class: "grid" },
    field(t("mappings.col.account"), inputs.account, { path: "chatwoot_account_id" }),
    field(t("mappings.col.inbox"), inputs.inbox, { path: "chatwoot_inbox_id", hint: t("mappings.inbox.hint") }),
    field(t("mappings.col.tenant"), inputs.tenant, { path: "tenant_id" }),
    field(t("mappings.col.domain"), inputs.domain, { path: "domain" }),
    field(t("mappings.col.channel"), inputs.channel, { path: "channel" })),
  h("datalist", { id: "tenant-ids" }, (state.tenants || []).map((x) => h("option", { value: x.tenant_id }))),
  error,
  h("div", { class: "actions" }, h("button", { type: "submit" }, t("mappings.save"))));
  return h("details", { class: "section" }, h("summary", {}, t("mappings.add")), form);
}

function mappingInputs(fixed) {
  return {
    account: h("input", { type: "number", min: "1", inputmode: "numeric", required: true }),
    inbox: h("input", { type: "number", min: "1", inputmode: "numeric" }),
    tenant: h("input", { type: "text", autocomplete: "off", value: fixed ? fixed.tenant : "", list: "tenant-ids" }),
    domain: h("input", { type: "text", autocomplete: "off", value: fixed ? fixed.domain : "default" }),
    channel: h("select", {}, h("option", { value: "" }, t("mappings.channel.auto")),
      CHANNELS.map((c) => h("option", { value: c }, c))),
  };
}

// Empty account or inbox is null: the API says what is missing; a null inbox means every inbox of the account.
function mappingEntry({ account, inbox, tenant, domain, channel }) {
  const entry = {
    chatwoot_account_id: account.value === "" ? null : Number(account.value),
    chatwoot_inbox_id: inbox.value === "" ? null : Number(inbox.value),
    tenant_id: tenant.value.trim(),
    domain: domain.value.trim() || "default",
  };
  if (channel.value) entry.channel = channel.value;
  return entry;
}
