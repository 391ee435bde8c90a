// What the views share across re-renders: the tenant and mapping lists (loaded once, dropped when they change)
// and the configuration editor's draft, which survives a language switch.

import { api } from "./api.js";

export const state = {
  tenants: null, // [{tenant_id, domain, config_types, updated_at}]
  mappings: null,
  editor: null, // {id, loaded, draft, mode, missing, keep}
  syncDraft: null, // set by the configuration editor: keeps what is typed across a re-render
};

// Sign-in, sign-out and a refused key start from nothing.
export function forgetAll() {
  state.tenants = null;
  state.mappings = null;
  state.editor = null;
}

export async function loadTenants(force = false) {
  if (!state.tenants || force) {
    const data = await api.tenants();
    state.tenants = (data && data.tenants) || [];
  }
  return state.tenants;
}

export async function loadMappings(force = false) {
  if (!state.mappings || force) {
    const data = await api.mappings();
    state.mappings = (data && data.mappings) || [];
  }
  return state.mappings;
}
