// The hash routes: #/, #/mappings, #/vectorize, #/tenant/{tenant_id}/{domain}/{tab}[/{config_type}].

export function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "mappings") return { name: "mappings" };
  if (parts[0] === "vectorize") return { name: "vectorize" };
  if (parts[0] === "tenant" && parts.length >= 3) {
    return { name: "tenant", tenant: parts[1], domain: parts[2], tab: parts[3] || "config", type: parts[4] };
  }
  return { name: "tenants" };
}

export function tenantHref(tenant, domain, tab = "config", type) {
  const parts = ["tenant", tenant, domain, tab];
  if (type) parts.push(type);
  return "#/" + parts.map(encodeURIComponent).join("/");
}
