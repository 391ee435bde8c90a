// A tenant's conversations: the list (filters: status, active since; paged), and one conversation as a chat with
// each bot turn's trace. GET /conversations/{tenant_id}[/{account_id}/{conversation_id}].

import { api } from "../api.js";
import { field, fill, h, loading, table } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { problem } from "../notices.js";
import { tenantHref } from "../routes.js";
import { chat } from "./trace.js";

export function renderConversations(body, route) {
  if (route.type) return renderConversation(body, route);
  const status = h("select", {},
    ["", "bot", "human"].map((s) => h("option", { value: s }, t(`conv.status.${s || "all"}`))));
  const since = h("input", { type: "date" });
  const list = h("div", { id: "conv-list" }, loading());
  const more = h("div", { class: "actions" });
  let rows = [];
  const load = async (cursor) => {
    if (!cursor) {
      rows = [];
      fill(list, loading());
    }
    fill(more);
    try {
      const data = await api.conversations(route.tenant, { status: status.value, since: since.value, cursor });
      rows = rows.concat(data.conversations || []);
      draw();
      if (data.next) {
        fill(more, h("button", { type: "button", onclick: () => load(data.next) }, t("conv.more")));
      }
    } catch (err) {
      fill(list, problem(err));
    }
  };
  const draw = () => fill(list, table(t("conv.title"),
    [t("conv.col.conversation"), t("conv.col.channel"), t("conv.col.status"), t("conv.col.last"),
      t("conv.col.turns")],
    rows.map((c) => [
      h("a", { href: tenantHref(route.tenant, route.domain, "conversations", `${c.account_id}-${c.conversation_id}`) },
        t("conv.open", { account: c.account_id, conversation: c.conversation_id })),
      c.channel || t("common.none"),
      h("span", { class: `badge ${c.status === "human" ? "status-running" : "status-done"}` },
        t(`conv.status.${c.status}`)),
      formatDate(c.last_at),
      String(c.turns),
    ]), { empty: t("conv.empty") }));
  body.append(
    h("h2", {}, t("conv.title")),
    h("p", { class: "muted" }, t("conv.intro")),
    h("form", { class: "toolbar", novalidate: true, onsubmit: (event) => { event.preventDefault(); load(); } },
      field(t("conv.status"), status, { id: "conv-status" }),
      field(t("conv.since"), since, { id: "conv-since" }),
      h("button", { type: "submit" }, t("conv.filter"))),
    list, more);
  load();
}

function renderConversation(body, route) {
  const [account, conversation] = String(route.type).split("-");
  const region = h("div", {}, loading());
  body.append(
    h("p", { class: "crumbs" }, h("a", { href: tenantHref(route.tenant, route.domain, "conversations") },
      `← ${t("conv.back")}`)),
    h("h2", {}, t("conv.open", { account, conversation })),
    region);
  api.conversation(route.tenant, account, conversation)
    .then((data) => fill(region, chat(data.turns || [], t("conv.open", { account, conversation }))))
    .catch((err) => fill(region, problem(err)));
}
