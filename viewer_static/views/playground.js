// Try the tenant's assistant as a customer: POST /playground/{tenant_id} runs its real crew and data, writes
// nothing and sends nothing to Chatwoot. The conversation so far lives in this tab only (and goes as `history`).

import { api } from "../api.js";
import { field, fill, h, loading } from "../dom.js";
import { t } from "../i18n.js";
import { alertText, problem } from "../notices.js";
import { chat } from "./trace.js";

const CHANNELS = ["whatsapp", "instagram", "web_widget", "email", "api"];
const sessions = new Map(); // tenant/domain → {channel, turns}

export function renderPlayground(body, route) {
  const key = `${route.tenant}/${route.domain}`;
  if (!sessions.has(key)) sessions.set(key, { channel: "whatsapp", turns: [] });
  const session = sessions.get(key);
  const channel = h("select", { onchange: () => { session.channel = channel.value; } },
    CHANNELS.map((c) => h("option", { value: c, selected: c === session.channel }, c)));
  const message = h("textarea", { rows: "3", "aria-describedby": "play-message-hint" });
  const log = h("div", { class: "play-log", "aria-live": "polite" });
  const note = h("div");
  const send = h("button", { type: "submit", class: "primary" }, t("play.send"));
  const draw = () => fill(log, session.turns.length ? chat(session.turns, t("play.chat"))
    : h("p", { class: "muted" }, t("play.none")));
  const submit = async (event) => {
    event.preventDefault();
    const messages = message.value.split("\n").map((m) => m.trim()).filter(Boolean);
    if (!messages.length) return fill(note, alertText(t("play.empty")));
    fill(note, loading());
    note.firstChild.textContent = t("play.sending");
    send.disabled = true;
    const history = session.turns.filter((x) => x.content).map((x) => ({ role: x.role, content: x.content }));
    try {
      const data = await api.playground(route.tenant, { messages, channel: session.channel, history,
        domain: route.domain });
      const at = new Date().toISOString();
      for (const m of messages) session.turns.push({ role: "customer", content: m, at });
      for (const turn of session.turns) turn.open = false;
      session.turns.push({ role: "assistant", at, open: true, trace: data.trace,
        content: data.answer || (data.handoff && data.handoff.message) || "" });
      message.value = "";
      fill(note);
      draw();
    } catch (err) {
      fill(note, problem(err));
    }
    send.disabled = false;
  };
  const reset = () => {
    session.turns = [];
    fill(note);
    draw();
  };
  body.append(
    h("h2", {}, t("play.title")),
    h("p", { class: "muted" }, t("play.intro")),
    log,
    h("form", { class: "card", novalidate: true, onsubmit: submit },
      field(t("play.channel"), channel, { id: "play-channel" }),
      field(t("play.message"), message, { id: "play-message", hint: t("play.message.hint") }),
      note,
      h("div", { class: "actions" }, send, h("button", { type: "button", onclick: reset }, t("play.reset")))));
  draw();
}
