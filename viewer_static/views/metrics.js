// The numbers per day (GET /metrics/{tenant_id}?days=n): totals, three plain SVG charts and the table behind them.

import { api } from "../api.js";
import { barChart, lineChart } from "../charts.js";
import { field, fill, h, loading, table } from "../dom.js";
import { lang, t } from "../i18n.js";
import { problem } from "../notices.js";
import { reasonText } from "./trace.js";

const PERIODS = [7, 14, 30, 90];
let chosen = 7;

const shortDay = (day) => new Date(`${day}T12:00:00`).toLocaleDateString(lang(), { day: "2-digit", month: "2-digit" });
const sec = (ms) => (ms === null || ms === undefined ? t("common.none") : `${(ms / 1000).toFixed(1)} s`);

export function renderMetrics(body, route) {
  const days = h("select", { onchange: () => { chosen = Number(days.value); load(); } },
    PERIODS.map((n) => h("option", { value: String(n), selected: n === chosen }, t("metrics.days.n", { n }))));
  const region = h("div", { class: "metrics" }, loading());
  const load = () => {
    fill(region, loading());
    api.metrics(route.tenant, chosen).then((data) => draw(region, data.days || [], data.period || {})).catch((err) => fill(region, problem(err)));
  };
  body.append(h("h2", {}, t("metrics.title")), h("div", { class: "toolbar" },
    field(t("metrics.days"), days, { id: "metrics-days" })), region);
  load();
}

function sum(days, pick) {
  return days.reduce((total, d) => total + pick(d), 0);
}

function draw(region, days, period) {
  const handed = (d) => Object.values(d.handed_off || {}).reduce((a, b) => a + b, 0);
  const turns = sum(days, (d) => d.turns);
  const labels = days.map((d) => shortDay(d.day));
  const tiles = [
    [t("metrics.turns"), String(turns)],
    [t("metrics.answered"), String(sum(days, (d) => d.answered))],
    [t("metrics.handed_off"), String(sum(days, handed))],
    [t("metrics.p50"), sec(period.reply_ms_p50)],
    [t("metrics.p95"), sec(period.reply_ms_p95)],
    [t("metrics.llm_calls"), String(sum(days, (d) => d.llm_calls))],
    [t("metrics.tokens"), String(sum(days, (d) => d.tokens))],
  ];
  fill(region,
    h("dl", { class: "tiles" }, tiles.map(([label, value]) => h("div", { class: "tile" },
      h("dt", {}, label), h("dd", {}, value)))),
    turns ? null : h("p", { class: "muted" }, t("metrics.empty")),
    h("div", { class: "charts" },
      barChart(t("metrics.chart.turns"), labels, [
        { name: t("metrics.answered"), values: days.map((d) => d.answered), className: "s-answered" },
        { name: t("metrics.handed_off"), values: days.map(handed), className: "s-handoff" },
      ]),
      lineChart(t("metrics.chart.reply"), labels, [
        { name: t("metrics.p50"), values: days.map((d) => (d.reply_ms_p50 ?? null) === null ? null : d.reply_ms_p50 / 1000),
          className: "s-p50" },
        { name: t("metrics.p95"), values: days.map((d) => (d.reply_ms_p95 ?? null) === null ? null : d.reply_ms_p95 / 1000),
          className: "s-p95" },
      ], (v) => v.toFixed(1)),
      barChart(t("metrics.chart.tokens"), labels, [
        { name: t("metrics.tokens"), values: days.map((d) => d.tokens), className: "s-tokens" },
      ])),
    h("h3", {}, t("metrics.table")),
    table(t("metrics.table"), [t("metrics.col.day"), t("metrics.turns"), t("metrics.answered"),
      t("metrics.col.reasons"), t("metrics.p50"), t("metrics.p95"), t("metrics.llm_calls"), t("metrics.tokens")],
    days.slice().reverse().map((d) => [shortDay(d.day), String(d.turns), String(d.answered),
      Object.entries(d.handed_off || {}).map(([r, n]) => `${reasonText(r)}: ${n}`).join("; ") || t("common.none"),
      sec(d.reply_ms_p50), sec(d.reply_ms_p95), String(d.llm_calls), String(d.tokens)])));
}
