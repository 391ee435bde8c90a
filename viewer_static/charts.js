// Plain SVG charts, no library: bars (stacked when there are several series) and lines, sized by their viewBox so
// they shrink to a phone's width. Each chart is a figure whose SVG has a text alternative; the views show the same
// numbers in a table.

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 220;
const PAD = { left: 44, right: 12, top: 12, bottom: 34 };

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(name, value);
  for (const child of children) if (child) el.append(child);
  return el;
}

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 2.5, 5, 10].find((s) => s * power >= value) * power;
}

function axes(root, labels, max, format) {
  const plotH = H - PAD.top - PAD.bottom;
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - fraction);
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid-line" }));
    const text = svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "tick" });
    const value = max * fraction;
    text.textContent = Number.isInteger(value) ? format(value) : value.toFixed(1);
    root.append(text);
  }
  const every = Math.max(1, Math.ceil(labels.length / 8));
  const slot = (W - PAD.left - PAD.right) / labels.length;
  labels.forEach((label, i) => {
    if ((labels.length - 1 - i) % every !== 0) return; // counted from the last day, which is always labelled
    const text = svg("text", { x: PAD.left + slot * (i + 0.5), y: H - PAD.bottom + 18, "text-anchor": "middle",
      class: "tick" });
    text.textContent = label;
    root.append(text);
  });
  return slot;
}

function frame(title, series) {
  const figure = document.createElement("figure");
  figure.className = "chart";
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  const caption = document.createElement("figcaption");
  caption.textContent = title;
  const legend = document.createElement("ul");
  legend.className = "legend";
  for (const s of series) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${s.className}`;
    swatch.setAttribute("aria-hidden", "true");
    item.append(swatch, document.createTextNode(s.name));
    legend.append(item);
  }
  figure.append(caption, root, legend);
  return { figure, root };
}

// series: [{name, values: number[], className}]
export function barChart(title, labels, series, format = (v) => String(Math.round(v))) {
  const { figure, root } = frame(title, series);
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const slot = axes(root, labels, max, format);
  const plotH = H - PAD.top - PAD.bottom;
  labels.forEach((label, i) => {
    let base = 0;
    for (const s of series) {
      const value = s.values[i] || 0;
      if (value > 0) {
        const height = (value / max) * plotH;
        const rect = svg("rect", { x: PAD.left + slot * i + slot * 0.15, width: slot * 0.7,
          y: PAD.top + plotH - ((base + value) / max) * plotH, height, class: `bar ${s.className}` });
        const tip = svg("title");
        tip.textContent = `${label} · ${s.name}: ${format(value)}`;
        rect.append(tip);
        root.append(rect);
      }
      base += value;
    }
  });
  return figure;
}

// series: [{name, values: (number|null)[], className}]; a null is a gap.
export function lineChart(title, labels, series, format = (v) => String(Math.round(v))) {
  const { figure, root } = frame(title, series);
  const all = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  const max = niceMax(Math.max(0, ...all));
  const slot = axes(root, labels, max, format);
  const plotH = H - PAD.top - PAD.bottom;
  for (const s of series) {
    const points = s.values.map((v, i) => (v === null || v === undefined ? null
      : [PAD.left + slot * (i + 0.5), PAD.top + plotH - (v / max) * plotH]));
    let path = "";
    let pen = false;
    for (const p of points) {
      if (!p) { pen = false; continue; }
      path += `${pen ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)} `;
      pen = true;
    }
    if (path) root.append(svg("path", { d: path.trim(), class: `line ${s.className}` }));
    points.forEach((p, i) => {
      if (!p) return;
      const dot = svg("circle", { cx: p[0], cy: p[1], r: 4, class: `dot ${s.className}` });
      const tip = svg("title");
      tip.textContent = `${labels[i]} · ${s.name}: ${format(s.values[i])}`;
      dot.append(tip);
      root.append(dot);
    });
  }
  return figure;
}
