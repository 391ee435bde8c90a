// Two versions side by side (removed lines red, added green, named for screen readers), unchanged runs folded.

import { countChanges, sideBySide, stableJson } from "../diff.js";
import { fill, h, nextId } from "../dom.js";
import { formatDate, t } from "../i18n.js";

const CONTEXT_LINES = 3;

export function diffTable(a, b) {
  const rows = sideBySide(stableJson(a.data), stableJson(b.data));
  const { removed, added } = countChanges(rows);
  const heading = (doc) => `${t("common.version", { version: doc.version })} · ${formatDate(doc.updated_at)}`;
  const body = h("tbody");
  const showAll = h("input", { type: "checkbox", id: nextId("unchanged"), onchange: () => draw() });
  const draw = () => fill(body, foldRows(rows, showAll.checked).map((row) => row.kind === "fold"
    ? h("tr", { class: "fold" }, h("td", { colspan: "2" }, t("history.folded", { n: row.count })))
    : h("tr", { class: row.kind }, cell(row.kind, row.ln, row.left, "left"), cell(row.kind, row.rn, row.right, "right"))));
  draw();
  return h("div", {},
    h("div", { class: "diff-head" },
      h("p", { class: "muted", role: "status" },
        removed || added ? t("history.changes", { removed, added }) : t("history.same")),
      h("span", { class: "inline-check" }, showAll, h("label", { for: showAll.id }, t("history.show_all")))),
    h("div", { class: "diff-wrap", tabindex: "0", role: "region", "aria-label": t("history.diff") },
      h("table", { class: "diff" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, heading(a)), h("th", { scope: "col" }, heading(b)))),
        body)));
}

// One side of a row: line number, then the line; `text` undefined is the blank facing an added or removed line.
function cell(kind, n, text, side) {
  const changed = kind === "change" || (side === "left" ? kind === "del" : kind === "add");
  const mark = changed ? (side === "left" ? "del" : "ins") : "";
  return h("td", { class: `code ${mark} ${text === undefined ? "blank" : ""}` },
    h("span", { class: "ln", "aria-hidden": "true" }, n ?? ""),
    changed ? h("span", { class: "visually-hidden" }, `${t(side === "left" ? "history.removed" : "history.added")}: `) : null,
    text === undefined ? "" : h("span", { class: "line" }, text));
}

// Unchanged runs longer than the context around changes fold into one "N unchanged lines" row.
function foldRows(rows, showAll) {
  if (showAll) return rows;
  const near = new Array(rows.length).fill(false);
  rows.forEach((row, i) => {
    if (row.kind === "same") return;
    for (let k = Math.max(0, i - CONTEXT_LINES); k <= Math.min(rows.length - 1, i + CONTEXT_LINES); k++) near[k] = true;
  });
  const out = [];
  for (let i = 0; i < rows.length; ) {
    if (near[i]) {
      out.push(rows[i]);
      i++;
      continue;
    }
    let j = i;
    while (j < rows.length && !near[j]) j++;
    out.push({ kind: "fold", count: j - i });
    i = j;
  }
  return out;
}
