// mhd chart read-outs: a chart the server drew with `data-ro-x` shows the values under the
// pointer, the touching finger or, when it has the keyboard focus, the position chosen with the
// arrow keys (Home and End for the ends): a dashed line at that position and a box with the
// time and each series' value. Everything comes from the chart's data attributes:
//   data-ro-plot="left top right bottom"   the plot area, in the chart's own units
//   data-ro-x="x1 x2 …"                    each position, in the same units
//   data-ro-t="time1|time2|…"              each position's time
//   <g data-ro-name="…" data-ro-v="v1|v2|…">  each series' name and values as written
// Text is only written with textContent. This file runs on the live pages (before live.js)
// and inline in the static dashboard file, which has no server.
(() => {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";
  const charts = new WeakMap();

  const read = (svg) => {
    let c = charts.get(svg);
    if (c) return c;
    const xs = (svg.getAttribute("data-ro-x") || "").split(" ").map(Number);
    const ts = (svg.getAttribute("data-ro-t") || "").split("|");
    const plot = (svg.getAttribute("data-ro-plot") || "0 0 0 0").split(" ").map(Number);
    const series = Array.from(svg.querySelectorAll("[data-ro-v]")).map((g) => ({
      name: g.getAttribute("data-ro-name") || "",
      values: (g.getAttribute("data-ro-v") || "").split("|"),
    }));
    const box = svg.viewBox && svg.viewBox.baseVal;
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", "ro");
    g.setAttribute("pointer-events", "none");
    g.setAttribute("aria-hidden", "true");
    const line = document.createElementNS(NS, "line");
    line.setAttribute("stroke", "#1b1f24");
    line.setAttribute("stroke-dasharray", "2 2");
    line.setAttribute("y1", plot[1]);
    line.setAttribute("y2", plot[3]);
    const rect = document.createElementNS(NS, "rect");
    rect.setAttribute("fill", "#fff");
    rect.setAttribute("stroke", "#50575f");
    rect.setAttribute("rx", "3");
    const text = document.createElementNS(NS, "text");
    text.setAttribute("class", "rot");
    g.append(line, rect, text);
    c = { xs, ts, plot, series, g, text, rect, line, width: box ? box.width : plot[2], index: -1 };
    charts.set(svg, c);
    return c;
  };

  const show = (svg, i) => {
    const c = read(svg);
    if (!c.xs.length) return;
    i = Math.max(0, Math.min(c.xs.length - 1, i));
    c.index = i;
    if (!c.g.isConnected) svg.appendChild(c.g);
    const x = c.xs[i];
    c.line.setAttribute("x1", x);
    c.line.setAttribute("x2", x);
    const rows = [c.ts[i] || ""].concat(c.series.map((s) => s.name + ": " + (s.values[i] || "—")));
    c.text.replaceChildren();
    rows.forEach((row, k) => {
      const span = document.createElementNS(NS, "tspan");
      span.setAttribute("dy", k === 0 ? "0" : "1.25em");
      span.setAttribute("x", "0");
      if (k === 0) span.setAttribute("font-weight", "bold");
      span.textContent = row;
      c.text.appendChild(span);
    });
    // Measure, then place the box beside the line, inside the chart.
    let w = 0;
    let h = 0;
    try {
      const b = c.text.getBBox();
      w = b.width;
      h = b.height;
    } catch (_) {
      w = Math.max(...rows.map((r) => r.length)) * 7;
      h = rows.length * 15;
    }
    const pad = 4;
    let left = x + 8;
    if (left + w + 2 * pad > c.width) left = x - 8 - w - 2 * pad;
    left = Math.max(0, left);
    const top = c.plot[1] + 2;
    for (const span of c.text.childNodes) span.setAttribute("x", left + pad);
    c.text.setAttribute("y", top + pad + 11);
    c.rect.setAttribute("x", left);
    c.rect.setAttribute("y", top);
    c.rect.setAttribute("width", w + 2 * pad);
    c.rect.setAttribute("height", h + 2 * pad);
    svg.setAttribute("data-ro-index", String(i));
  };

  const hide = (svg) => {
    const c = charts.get(svg);
    if (c && c.g.isConnected) c.g.remove();
    svg.removeAttribute("data-ro-index");
  };

  // The nearest position to a point of the screen.
  const nearest = (svg, clientX) => {
    const c = read(svg);
    const r = svg.getBoundingClientRect();
    const box = svg.viewBox && svg.viewBox.baseVal;
    if (!r.width || !box || !box.width) return 0;
    // viewBox units fill the width (the charts keep their aspect ratio and scale to width).
    const x = box.x + ((clientX - r.left) / r.width) * box.width;
    let best = 0;
    for (let k = 1; k < c.xs.length; k++) {
      if (Math.abs(c.xs[k] - x) < Math.abs(c.xs[best] - x)) best = k;
    }
    return best;
  };

  const chartOf = (el) => (el instanceof Element ? el.closest("svg[data-ro-x]") : null);

  document.addEventListener("pointermove", (ev) => {
    const svg = chartOf(ev.target);
    if (svg) show(svg, nearest(svg, ev.clientX));
  });
  document.addEventListener("pointerdown", (ev) => {
    const svg = chartOf(ev.target);
    if (svg) show(svg, nearest(svg, ev.clientX));
  });
  document.addEventListener("pointerout", (ev) => {
    const svg = chartOf(ev.target);
    if (svg && !svg.contains(ev.relatedTarget) && document.activeElement !== svg) hide(svg);
  });
  document.addEventListener("focusin", (ev) => {
    const svg = chartOf(ev.target);
    if (svg) {
      const c = read(svg);
      show(svg, c.index >= 0 ? c.index : c.xs.length - 1);
    }
  });
  document.addEventListener("focusout", (ev) => {
    const svg = chartOf(ev.target);
    if (svg) hide(svg);
  });
  document.addEventListener("keydown", (ev) => {
    const svg = chartOf(ev.target);
    if (!svg || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const c = read(svg);
    const moves = { ArrowLeft: c.index - 1, ArrowRight: c.index + 1, Home: 0, End: c.xs.length - 1 };
    if (!(ev.key in moves)) return;
    ev.preventDefault();
    show(svg, moves[ev.key]);
  });
})();
