// Side-by-side line diff of two JSON documents (keys sorted, so only real changes show).

export function stableJson(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]));
    }
    return v;
  };
  return JSON.stringify(sort(value ?? null), null, 2);
}

// Rows of {left, right, kind}: kind is "same", "change", "del" (left only) or "add" (right only).
export function sideBySide(leftText, rightText) {
  const a = leftText.split("\n");
  const b = rightText.split("\n");
  const n = a.length;
  const m = b.length;
  // Longest common subsequence table, from the end (documents are small: a few hundred lines at most).
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: "same", left: a[i], right: b[j], ln: i + 1, rn: j + 1 });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      ops.push({ kind: "add", right: b[j], rn: j + 1 });
      j++;
    } else {
      ops.push({ kind: "del", left: a[i], ln: i + 1 });
      i++;
    }
  }
  // Pair a run of deletions with the run of additions that follows it, so a changed line sits beside its new text.
  const rows = [];
  for (let k = 0; k < ops.length; ) {
    if (ops[k].kind === "same") {
      rows.push(ops[k]);
      k++;
      continue;
    }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k].kind !== "same") {
      (ops[k].kind === "del" ? dels : adds).push(ops[k]);
      k++;
    }
    for (let p = 0; p < Math.max(dels.length, adds.length); p++) {
      const d = dels[p];
      const s = adds[p];
      rows.push({
        kind: d && s ? "change" : d ? "del" : "add",
        left: d ? d.left : undefined,
        ln: d ? d.ln : undefined,
        right: s ? s.right : undefined,
        rn: s ? s.rn : undefined,
      });
    }
  }
  return rows;
}

export function countChanges(rows) {
  let removed = 0;
  let added = 0;
  for (const row of rows) {
    if (row.kind === "del" || row.kind === "change") removed++;
    if (row.kind === "add" || row.kind === "change") added++;
  }
  return { removed, added };
}
