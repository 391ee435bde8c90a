// A tenant's document types (config, credentials, per-channel overrides...) and the picker the config and history
// tabs show when there is more than one.

import { field, h } from "../dom.js";
import { t } from "../i18n.js";
import { tenantHref } from "../routes.js";
import { loadTenants } from "../state.js";

export async function tenantTypes(route) {
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

export function typePicker(route, types, tab) {
  if (types.length < 2) return null;
  const select = h("select", { onchange: () => { location.hash = tenantHref(route.tenant, route.domain, tab, select.value); } },
    types.map((type) => h("option", { value: type, selected: type === (route.type || "config") }, type)));
  return h("div", { class: "toolbar" }, field(t("config.type"), select, { id: `type-${tab}` }));
}
