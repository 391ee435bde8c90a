// Vectorization, for one tenant (its tab) or for all (the page, with a tenant picker): collections with their point
// counts, the tenant's recent jobs, and the retrieval search box.

import { api, apiUrl, unlessMissing } from "../api.js";
import { field, fill, h, loading, table } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { problem } from "../notices.js";
import { loadTenants } from "../state.js";
import { retrievalForm } from "./retrieval.js";

export function renderVectorizePage(root) {
  const body = h("div");
  root.append(h("div", { class: "page-head" }, h("h1", {}, t("nav.vectorize"))), body);
  renderVectorize(body, null);
}

export function renderVectorize(body, fixedTenant, domain = null) {
  const collectionsHost = h("div", {}, loading());
  const jobsHost = h("div", {});
  const tenantSelect = fixedTenant ? null : h("select", {}, h("option", { value: "" }, t("common.none")));
  const currentTenant = () => fixedTenant || (tenantSelect && tenantSelect.value) || "";
  const search = retrievalForm(currentTenant);
  const drawCollections = () => drawCollectionList(collectionsHost, currentTenant(), search.offerCollections);
  const refresh = () => {
    drawJobs(jobsHost, currentTenant());
    drawCollections();
  };
  drawCollections();
  if (tenantSelect) offerTenants(tenantSelect, refresh);
  fill(body,
    tenantSelect ? h("div", { class: "toolbar" }, field(t("vec.tenant"), tenantSelect, { id: "vec-tenant" })) : null,
    h("section", { class: "section", "aria-labelledby": "vec-collections" },
      h("h2", { id: "vec-collections" }, t("vec.collections")), collectionsHost),
    h("section", { class: "section", "aria-labelledby": "vec-jobs" },
      h("div", { class: "page-head" }, h("h2", { id: "vec-jobs" }, t("vec.jobs")),
        h("button", { type: "button", onclick: refresh }, t("common.refresh"))),
      jobsHost),
    fixedTenant && domain ? odooHookSection(fixedTenant, domain) : null,
    search.form,
    search.results);
  drawJobs(jobsHost, currentTenant());
}

// The tenant's secret URL for Odoo's "Send Webhook Notification": created or rotated here, shown once (the API keeps
// only its hash), then only its last characters.
function odooHookSection(tenant, domain) {
  const host = h("div", {}, loading());
  const draw = () => unlessMissing(api.odooHook(tenant, domain)).then((status) => fill(host,
    h("p", {}, status ? t("vec.hook.exists", { when: formatDate(status.created_at), hint: status.hint })
      : t("vec.hook.none")),
    h("button", { type: "button", onclick: issue }, t(status ? "vec.hook.rotate" : "vec.hook.create")),
  )).catch((err) => fill(host, problem(err)));
  const issue = () => api.issueOdooHook(tenant, domain).then((issued) => fill(host,
    h("p", { role: "status" }, t("vec.hook.once")),
    h("p", {}, h("code", { class: "hook-url" }, apiUrl() + issued.path)),
    h("button", { type: "button", onclick: draw }, t("vec.hook.hide")),
  )).catch((err) => fill(host, problem(err)));
  draw();
  return h("section", { class: "section", "aria-labelledby": "vec-hook" },
    h("h2", { id: "vec-hook" }, t("vec.hook")), h("p", { class: "muted small" }, t("vec.hook.help")), host);
}

function offerTenants(select, onChange) {
  loadTenants().then((tenants) => {
    for (const id of [...new Set(tenants.map((x) => x.tenant_id))]) select.append(h("option", { value: id }, id));
  }).catch(() => {});
  select.addEventListener("change", onChange);
}

// Point counts are the chosen tenant's when there is one (the API filters by tenant_id), else every tenant's.
function drawCollectionList(host, tenant, offerCollections) {
  return api.collections(tenant || null).then((data) => {
    const list = Array.isArray(data) ? data : (data && (data.collections || data.items)) || [];
    const collections = list.map((c) => (typeof c === "string" ? { name: c } : c));
    fill(host, table(t("vec.collections"), [t("vec.col.name"), t("vec.col.points")],
      collections.map((c) => [h("code", {}, c.name), pointsOf(c)]), { empty: t("vec.collections.empty") }));
    offerCollections(collections.map((c) => c.name));
  }).catch((err) => fill(host, problem(err)));
}

function pointsOf(c) {
  for (const key of ["points_count", "points", "vectors_count", "count", "size"]) {
    if (typeof c[key] === "number") return String(c[key]);
  }
  return t("common.none");
}

async function drawJobs(host, tenant) {
  if (!tenant) {
    fill(host, h("p", { class: "muted" }, t("vec.jobs.pick")));
    return;
  }
  fill(host, loading());
  try {
    const data = await api.jobs(tenant);
    const jobs = Array.isArray(data) ? data : (data && (data.jobs || data.items)) || [];
    const sync = data && data.odoo_sync;
    fill(host, sync && sync.last_sync_at ? odooSyncLine(sync) : null, table(t("vec.jobs"),
      [t("vec.col.job"), t("vec.col.collection"), t("vec.col.status"), t("vec.col.processed"), t("vec.col.failed"),
        t("vec.col.when")],
      jobs.map(jobRow), { empty: t("vec.jobs.empty") }));
  } catch (err) {
    fill(host, problem(err));
  }
}

// The scheduled Odoo sync (GET /vectorize/jobs?tenant_id= → odoo_sync): when it last ran and what it read.
function odooSyncLine(sync) {
  const read = Object.values(sync.last_read || {}).reduce((sum, n) => sum + (Number(n) || 0), 0);
  return h("p", { class: "muted small" }, t("vec.odooSync", {
    when: formatDate(sync.last_sync_at), every: sync.sync_interval_min ?? t("common.none"), read,
    kind: t(sync.last_full ? "vec.odooSync.full" : "vec.odooSync.incremental") }));
}

function jobRow(job) {
  const errors = Array.isArray(job.errors) ? job.errors : [];
  const status = t(`vec.status.${job.status}`);
  return [
    h("code", {}, String(job.job_id || job.id || "")),
    job.kind && job.kind !== "push" ? `${job.collection || ""} · ${job.kind}` : job.collection || t("common.none"),
    h("span", { class: `badge status-${job.status}` }, status === `vec.status.${job.status}` ? String(job.status) : status),
    job.total ? `${job.processed ?? 0} / ${job.total}` : String(job.processed ?? 0),
    errors.length ? h("details", {}, h("summary", {}, String(job.failed ?? errors.length)),
      h("ul", { class: "plain small" }, errors.slice(0, 20).map((e) => h("li", {}, typeof e === "string" ? e : JSON.stringify(e)))))
      : String(job.failed ?? 0),
    formatDate(job.updated_at || job.created_at || job.queued_at),
  ];
}
