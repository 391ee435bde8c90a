// The Config and Vectorize APIs. The admin key lives in sessionStorage only: gone when the tab closes.

const KEY_STORAGE = "viewer.adminKey";
const API_STORAGE = "viewer.apiUrl";

export class ApiError extends Error {
  constructor(status, code, message, field = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }

  // The endpoint does not exist on this deployment (yet): a "not available" state, not a failure.
  get unavailable() {
    if (this.status === 405 || this.status === 501) return true;
    return this.status === 404 && /^no route/i.test(this.message || "");
  }
}

// A 404 that means "no such document" (not a missing endpoint): the views show an empty state instead.
const isMissing = (err) => err instanceof ApiError && err.status === 404 && !err.unavailable;

// Someone saved the document after the version sent in If-Match.
export const isStale = (err) => err instanceof ApiError && err.status === 412;

// The promise's value, or `fallback` when the document does not exist.
export async function unlessMissing(promise, fallback = null) {
  try {
    return await promise;
  } catch (err) {
    if (isMissing(err)) return fallback;
    throw err;
  }
}

export function defaultApiUrl() {
  const configured = (window.VIEWER_CONFIG && window.VIEWER_CONFIG.apiUrl) || "";
  if (configured) return configured.replace(/\/+$/, "");
  return location.protocol.startsWith("http") ? location.origin : "";
}

export function apiUrl() {
  return sessionStorage.getItem(API_STORAGE) || defaultApiUrl();
}

export function adminKey() {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function signIn(key, url) {
  sessionStorage.setItem(KEY_STORAGE, key);
  const cleaned = (url || "").trim().replace(/\/+$/, "");
  if (cleaned && cleaned !== defaultApiUrl()) sessionStorage.setItem(API_STORAGE, cleaned);
  else sessionStorage.removeItem(API_STORAGE);
}

export function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  sessionStorage.removeItem(API_STORAGE);
}

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function request(method, path, { body, headers = {}, key } = {}) {
  const base = apiUrl();
  const all = { "X-Api-Key": key ?? adminKey() ?? "", "X-Client": "viewer", ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (exc) {
    throw new ApiError(0, "network", base || "(?)");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const err = (data && data.error) || {};
    const message = err.message || (data && data.message) || text.slice(0, 200) || response.statusText;
    const error = new ApiError(response.status, err.code || `http_${response.status}`, message, err.field || null);
    if (response.status === 401 && key === undefined) onUnauthorized(error);
    throw error;
  }
  return data;
}

const enc = encodeURIComponent;
const docPath = (tenant, domain, type) => `/configs/${enc(tenant)}/${enc(domain)}/${enc(type)}`;

export const api = {
  check: (key) => request("GET", "/configs", { key }),
  tenants: () => request("GET", "/configs"),
  getDoc: (tenant, domain, type, version) =>
    request("GET", docPath(tenant, domain, type) + (version ? `?version=${enc(version)}` : "")),
  versions: (tenant, domain, type) => request("GET", docPath(tenant, domain, type) + "/versions"),
  putDoc: (tenant, domain, type, data, ifMatch) =>
    request("PUT", docPath(tenant, domain, type), {
      body: data,
      headers: ifMatch ? { "If-Match": String(ifMatch) } : {},
    }),
  mappings: () => request("GET", "/mapping"),
  putMappings: (mappings) => request("PUT", "/mapping", { body: { mappings } }),
  deleteMapping: (account, inbox, installation) =>
    request("DELETE", `/mapping/${enc(account)}/${inbox === null || inbox === undefined ? "null" : enc(inbox)}` +
      (installation && installation !== "default" ? `?installation=${enc(installation)}` : "")),
  collections: (tenant) => request("GET", "/collections" + (tenant ? `?tenant_id=${enc(tenant)}` : "")),
  jobs: (tenant) => request("GET", `/vectorize/jobs?tenant_id=${enc(tenant)}`),
  job: (id) => request("GET", `/vectorize/jobs/${enc(id)}`),
  odooHook: (tenant, domain) => request("GET", `/configs/${enc(tenant)}/odoo-hook-token?domain=${enc(domain)}`),
  issueOdooHook: (tenant, domain) =>
    request("POST", `/configs/${enc(tenant)}/odoo-hook-token?domain=${enc(domain)}`),
  search: (tenant, collection, query, limit) =>
    request("POST", "/search", { body: { tenant_id: tenant, collection, query, limit } }),
  // The business owner's view (InsightsApiFunction).
  conversations: (tenant, { status, since, cursor, limit = 20 } = {}) => {
    const q = new URLSearchParams({ limit: String(limit) });
    if (status) q.set("status", status);
    if (since) q.set("since", since);
    if (cursor) q.set("cursor", cursor);
    return request("GET", `/conversations/${enc(tenant)}?${q}`);
  },
  conversation: (tenant, account, conversation) =>
    request("GET", `/conversations/${enc(tenant)}/${enc(account)}/${enc(conversation)}`),
  playground: (tenant, body) => request("POST", `/playground/${enc(tenant)}`, { body }),
  metrics: (tenant, days) => request("GET", `/metrics/${enc(tenant)}?days=${enc(days)}`),
};
