// Try retrieval: the same POST /search the bot uses, only the chosen tenant's records in the chosen collection.

import { api } from "../api.js";
import { field, fill, h, loading } from "../dom.js";
import { t } from "../i18n.js";
import { alertText, problem } from "../notices.js";

const DEFAULT_COLLECTIONS = ["business_rules", "support_documents", "products"];

// `currentTenant()` names the tenant to search. Returns the form, the results region (placed after it) and
// `offerCollections(names)`, which adds the collections found to the defaults, keeping the choice.
export function retrievalForm(currentTenant) {
  const collection = h("select", {}, DEFAULT_COLLECTIONS.map((c) => h("option", { value: c }, c)));
  const query = h("input", { type: "search", autocomplete: "off" });
  const limit = h("input", { type: "number", min: "1", max: "50", value: "5", inputmode: "numeric" });
  const results = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit", class: "primary" }, t("vec.search.go"));
  const submit = async (event) => {
    event.preventDefault();
    const tenant = currentTenant();
    if (!tenant || !query.value.trim()) return fill(results, alertText(t("vec.search.need")));
    button.disabled = true;
    fill(results, loading());
    try {
      const data = await api.search(tenant, collection.value, query.value.trim(), Number(limit.value) || 5);
      fill(results, resultList((data && data.results) || []));
    } catch (err) {
      fill(results, problem(err));
    }
    button.disabled = false;
  };
  const form = h("form", { class: "card", role: "search", novalidate: true, onsubmit: submit },
    h("h2", {}, t("vec.search")),
    h("p", { class: "muted" }, t("vec.search.intro")),
    h("div", { class: "grid" },
      field(t("vec.search.collection"), collection, { id: "search-collection" }),
      field(t("vec.search.limit"), limit, { id: "search-limit" })),
    field(t("vec.search.query"), query, { id: "search-query" }),
    h("div", { class: "actions" }, button));
  const offerCollections = (names) => {
    const chosen = collection.value;
    fill(collection, ...[...new Set([...names, ...DEFAULT_COLLECTIONS])].map((n) =>
      h("option", { value: n, selected: n === chosen }, n)));
  };
  return { form, results, offerCollections };
}

function resultList(results) {
  if (!results.length) return h("p", { class: "muted" }, t("vec.search.none"));
  return h("ol", { class: "results" }, results.map((r) =>
    h("li", {},
      h("p", { class: "score" }, t("vec.search.score", { score: Number(r.score).toFixed(3) }), " · ", h("code", {}, String(r.id))),
      h("p", { class: "result-text" }, r.text || ""),
      r.metadata && Object.keys(r.metadata).length ? h("dl", { class: "meta" },
        Object.entries(r.metadata).slice(0, 12).map(([k, v]) => [h("dt", {}, k),
          h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))])) : null)));
}
