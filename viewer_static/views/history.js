// The History tab: every version of a document, two of them side by side, and Restore, which saves an old
// version's content as a new version on condition that the current one is still current.

import { api, isStale, unlessMissing } from "../api.js";
import { confirmingButton, field, fill, h, loading, table } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { errorText, flash, problem } from "../notices.js";
import { state } from "../state.js";
import { diffTable } from "./diff-table.js";
import { tenantTypes, typePicker } from "./type-picker.js";

export async function renderHistory(body, route) {
  const type = route.type || "config";
  fill(body, loading());
  const types = await tenantTypes(route);
  if (!types.includes("credentials")) types.push("credentials");
  let versions;
  try {
    versions = await loadVersions(route, type);
  } catch (err) {
    fill(body, typePicker(route, types, "history") || "", problem(err));
    return;
  }
  const history = { body, route, type, versions, current: versions.length ? versions[0].version : null,
    fetchVersion: versionFetcher(route, type) };
  const diff = diffPanel(history);
  fill(body,
    typePicker(route, types, "history") || "",
    h("h2", {}, t("history.title")),
    type === "credentials" ? h("p", { class: "notice" }, t("history.no_restore_secrets")) : null,
    versionsTable(history, diff),
    versions.length > 1 ? diff.section : null);
  if (versions.length > 1) diff.draw();
}

// Newest first; a document that does not exist yet has no versions.
async function loadVersions(route, type) {
  const data = await unlessMissing(api.versions(route.tenant, route.domain, type), []);
  const list = Array.isArray(data) ? data : (data && (data.versions || data.items)) || [];
  return list.map((v) => (typeof v === "number" ? { version: v } : v)).sort((a, b) => b.version - a.version);
}

// Each version is fetched once while the tab is open.
function versionFetcher(route, type) {
  const cache = new Map();
  return async (n) => {
    if (!cache.has(n)) cache.set(n, api.getDoc(route.tenant, route.domain, type, n));
    return cache.get(n);
  };
}

function versionsTable(history, diff) {
  const { versions, current } = history;
  const compareButton = (v) => h("button", { type: "button", class: "link-button", onclick: () => diff.compare(v.version) },
    `${t("history.compare")} ${v.version} ↔ ${current}`);
  return table(t("history.title"), [t("history.col.version"), t("history.col.updated"), t("history.col.actions")],
    versions.map((v) => [String(v.version), formatDate(v.updated_at),
      h("span", { class: "inline-actions" }, v.version !== current ? compareButton(v) : null, restoreCell(history, v))]),
    { empty: t("history.empty") });
}

// Two version pickers (to start: the one before the current, and the current) and the diff between them.
function diffPanel({ versions, current, fetchVersion }) {
  const host = h("div", { class: "diff-host" });
  const [left, right] = ["diff-left", "diff-right"].map((id) => h("select", { id }, versions.map((v) =>
    h("option", { value: String(v.version) }, `${v.version}${v.version === current ? ` (${t("history.current")})` : ""}`))));
  if (versions.length) {
    right.value = String(versions[0].version);
    left.value = String((versions[1] || versions[0]).version);
  }
  const draw = async () => {
    fill(host, loading());
    try {
      fill(host, diffTable(...await Promise.all([fetchVersion(Number(left.value)), fetchVersion(Number(right.value))])));
    } catch (err) {
      fill(host, problem(err));
    }
  };
  left.addEventListener("change", draw);
  right.addEventListener("change", draw);
  const compare = (version) => {
    left.value = String(version);
    right.value = String(current);
    draw();
    host.scrollIntoView({ block: "nearest" });
  };
  const section = h("section", { class: "section", "aria-labelledby": "diff-title" },
    h("h2", { id: "diff-title" }, t("history.diff")),
    h("div", { class: "grid two" }, field(t("history.left"), left), field(t("history.right"), right)),
    host);
  return { section, draw, compare };
}

// Credentials are never restored: their old values are masked.
function restoreCell(history, v) {
  if (v.version === history.current) return h("span", { class: "badge" }, t("history.current"));
  if (history.type === "credentials") return "";
  return confirmingButton({ label: t("history.restore"), ariaLabel: t("history.restore.confirm", { version: v.version }),
    question: t("history.restore.ask", { version: v.version }), confirmLabel: t("history.restore.confirm", { version: v.version }),
    kind: "primary", onConfirm: (button) => restore(history, v.version, button) });
}

async function restore({ body, route, type, current, fetchVersion }, version, button) {
  button.disabled = true;
  try {
    const old = await fetchVersion(version);
    const result = await api.putDoc(route.tenant, route.domain, type, old.data, current);
    state.editor = null;
    state.tenants = null;
    flash(t("history.restored", { old: version, version: result.version }));
    renderHistory(body, route);
  } catch (err) {
    button.disabled = false;
    flash(isStale(err) ? t("config.stale", { version: current }) : errorText(err), "error");
  }
}
