// One tenant: its mappings, then a tab each for configuration, history, credentials, vectorization, and the owner's
// view: conversations (with each answer's trace), the playground and the metrics.

import { h, loading } from "../dom.js";
import { t } from "../i18n.js";
import { tenantHref } from "../routes.js";
import { renderConfig } from "./config-editor.js";
import { renderConversations } from "./conversations.js";
import { renderCredentials } from "./credentials.js";
import { renderHistory } from "./history.js";
import { drawMappings, mappingForm } from "./mappings.js";
import { renderMetrics } from "./metrics.js";
import { renderPlayground } from "./playground.js";
import { renderVectorize } from "./vectorize.js";

const TABS = new Map([
  ["config", renderConfig],
  ["history", renderHistory],
  ["credentials", renderCredentials],
  ["vectorize", (body, route) => renderVectorize(body, route.tenant, route.domain)],
  ["conversations", renderConversations],
  ["playground", renderPlayground],
  ["metrics", renderMetrics],
]);

export function renderTenant(root, route) {
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
      [...TABS.keys()].map((id) => h("a", { href: tenantHref(route.tenant, route.domain, id),
        "aria-current": route.tab === id ? "page" : null }, t(`tab.${id}`)))),
    body);
  drawMappings(mappings, false, route);
  (TABS.get(route.tab) || renderConfig)(body, route);
}
