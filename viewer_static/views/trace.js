// One bot turn's trace, as an expandable panel: the outcome, the agents that ran and those skipped, the sources
// (internal ones are marked; a tenant's key gets their id only), the model calls, the handoff and the times.

import { h } from "../dom.js";
import { formatDate, t } from "../i18n.js";

export const reasonText = (reason) => {
  const key = `reason.${reason}`;
  const text = t(key);
  return text === key ? String(reason || "?") : text;
};

const seconds = (ms) => (ms === null || ms === undefined ? t("common.none") : t("trace.ms", { ms: Math.round(ms) }));

function row(label, ...value) {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

export function outcomeBadge(trace) {
  const handoff = trace.outcome === "handoff";
  return h("span", { class: `badge ${handoff ? "status-failed" : "status-done"}` },
    handoff ? t("trace.outcome.handoff", { reason: reasonText(trace.handoff && trace.handoff.reason) })
      : t("trace.outcome.answered"));
}

export function tracePanel(trace, { open = false } = {}) {
  const plan = trace.plan || {};
  const llm = trace.llm || {};
  const intention = trace.intention || {};  // null when no intention was read
  const skipped = Object.entries(plan.skipped || {});
  const sources = trace.sources || [];
  const calls = llm.calls || [];
  const attachments = trace.attachments || {};
  return h("details", { class: "trace", open: open || null },
    h("summary", {}, trace.outcome === "handoff" ? t("trace.summary.handoff") : t("trace.summary"), " ",
      outcomeBadge(trace)),
    h("dl", { class: "meta trace-meta" },
      row(t("trace.channel"), trace.channel || t("common.none")),
      row(t("trace.reply_time"), seconds(trace.reply_ms)),
      row(t("trace.crew_time"), seconds(trace.crew_ms)),
      intention.intent ? row(t("trace.intention"), intention.intent) : null,
      row(t("trace.agents"), (plan.agents_ran || []).length
        ? (plan.agents_ran || []).map((a) => h("span", { class: "badge" }, a)) : t("trace.agents.none")),
      skipped.length ? row(t("trace.skipped"), h("ul", { class: "plain" },
        skipped.map(([name, why]) => h("li", {}, h("code", {}, name), `: ${why}`)))) : null,
      (plan.steps || []).length ? row(t("trace.steps"), h("code", {}, plan.steps.join(" → "))) : null,
      trace.handoff ? row(t("trace.handoff"), reasonText(trace.handoff.reason),
        trace.handoff.detail ? h("span", { class: "muted" }, ` (${trace.handoff.detail})`) : null) : null,
      (attachments.kinds || []).length ? row(t("trace.attachments"), attachments.kinds.join(", ")) : null),
    h("h4", {}, t("trace.sources")),
    sources.length ? h("ol", { class: "results sources" }, sources.map((s) =>
      h("li", {},
        h("p", { class: "score" }, h("code", {}, s.collection), " · ", h("code", {}, String(s.id)), " · ",
          t("vec.search.score", { score: Number(s.score).toFixed(3) }),
          s.visibility === "internal" ? h("span", { class: "badge internal" }, t("trace.internal")) : null),
        s.excerpt ? h("p", { class: "result-text" }, s.excerpt) : null)))
      : h("p", { class: "muted" }, t("trace.sources.none")),
    h("h4", {}, t("trace.llm")),
    calls.length ? h("ul", { class: "plain" }, calls.map((c) => h("li", {}, t("trace.llm.row", {
      agent: c.agent, calls: c.calls, tokens: (c.prompt_tokens || 0) + (c.completion_tokens || 0),
      ms: c.latency_ms })))) : h("p", { class: "muted" }, t("trace.llm.none")));
}

// A chat: the customer's messages on one side, the assistant's on the other, each bot turn with its trace.
export function chat(turns, label) {
  return h("ol", { class: "chat", "aria-label": label }, turns.map((turn) => {
    const mine = turn.role === "customer";
    return h("li", { class: `bubble ${mine ? "customer" : "assistant"}` },
      h("p", { class: "who" }, mine ? t("conv.customer") : t("conv.assistant"),
        turn.at ? h("span", { class: "muted small" }, ` · ${formatDate(turn.at)}`) : null),
      turn.content ? h("p", { class: "said" }, turn.content)
        : h("p", { class: "said muted" }, t("conv.handoff_note")),
      turn.trace ? tracePanel(turn.trace, { open: turn.open }) : null);
  }));
}
