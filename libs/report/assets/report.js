// Draws the report from the JSON in #report-data with uPlot. Every chart container gets
// data-points (the number of samples drawn), which the browser test checks.
(function () {
  "use strict";
  const report = JSON.parse(document.getElementById("report-data").textContent);
  const root = document.getElementById("report");
  const palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                   "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(digits);

  // uPlot wants one x array shared by every series: the union of the series' times.
  function align(series) {
    const xs = [...new Set(series.flatMap(s => s.t))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = series.map(s => {
      const y = new Array(xs.length).fill(null);
      s.t.forEach((t, i) => { y[index.get(t)] = s.y[i]; });
      return y;
    });
    return [xs, ...ys];
  }

  function overlay(bands, markers) {
    return (u) => {
      const ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
      ctx.save();
      for (const b of bands) {
        const x0 = u.valToPos(b.start, "x", true), x1 = u.valToPos(b.end, "x", true);
        ctx.fillStyle = "rgba(214, 39, 40, 0.10)";
        ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
        ctx.fillStyle = "#b42318";
        ctx.font = "11px system-ui";
        ctx.fillText(b.label, x0 + 3, top + 12);
      }
      for (const m of markers) {
        const x = u.valToPos(m.t, "x", true);
        ctx.strokeStyle = "#9467bd";
        ctx.setLineDash([4, 3]);
        ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, top + height); ctx.stroke();
        ctx.fillStyle = "#6b3fa0";
        ctx.font = "11px system-ui";
        ctx.fillText(m.label, x + 3, top + height - 4);
      }
      ctx.restore();
    };
  }

  // spanGaps: draw across missing samples (side-by-side phases sample at different instants).
  function chart(parent, title, unit, series, bands = [], markers = [], spanGaps = false) {
    const box = el("div", { class: "chart" });
    parent.append(box);
    const points = series.reduce((n, s) => n + s.y.filter(v => v !== null).length, 0);
    box.dataset.points = String(points);
    box.dataset.title = title;
    if (points === 0) {
      box.append(el("div", { class: "empty" }, title + ": no data"));
      return;
    }
    const width = Math.max(480, Math.min(620, box.clientWidth || 600) - 12);
    const opts = {
      title: title + (unit ? " (" + unit + ")" : ""),
      width, height: 240,
      scales: { x: { time: false } },
      axes: [{ label: "seconds" }, { label: unit, size: 60 }],
      series: [{ label: "t" }, ...series.map((s, i) => ({
        label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps,
      }))],
      hooks: { draw: [overlay(bands, markers)] },
    };
    new uPlot(opts, align(series), box);
  }

  const showSlo = report.show_slo !== false;  // false on one run's own page (crest run --out html)

  function summaryTable(phases) {
    const heads = ["phase", "requests", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms"];
    const table = el("table", {},
      el("tr", {}, ...heads.concat(showSlo ? ["SLO"] : []).map(h => el("th", {}, h))));
    for (const p of phases) {
      const s = p.summary;
      const row = el("tr", {}, el("td", {}, p.name), el("td", {}, s.requests),
        el("td", {}, fmt(s.throughput_rps)), el("td", {}, fmt(100 * s.error_rate, 2) + " %"),
        el("td", {}, fmt(s.p50_ms)), el("td", {}, fmt(s.p95_ms)), el("td", {}, fmt(s.p99_ms)));
      if (showSlo) row.append(el("td", { class: s.slo_held ? "held" : "broken" }, s.slo_held ? "held" : "broken"));
      table.append(row);
    }
    return table;
  }

  // A phase's own tables (thresholds, steps, checks, ...): text cells as given.
  function dataTable(parent, t) {
    const table = el("table", { class: "data", "data-title": t.title },
      el("tr", {}, ...t.columns.map(h => el("th", {}, h))));
    for (const r of t.rows) {
      const row = el("tr", {}, ...r.map(c => el("td", {}, c)));
      if (r.includes("FAILED")) row.setAttribute("class", "broken");
      table.append(row);
    }
    parent.append(el("h3", {}, t.title), table);
  }

  function diagnosis(parent, d) {
    if (d === null || d === undefined) return;
    parent.append(el("h3", {}, "Diagnosis"));
    if (d.no_rule_fits && Array.isArray(d.top_evidence)) {
      parent.append(el("p", {}, "No rule fits; the top evidence:"));
      const list = el("ul", { class: "diagnosis" });
      for (const e of d.top_evidence.slice(0, 6)) list.append(el("li", {}, e.text || JSON.stringify(e)));
      parent.append(list);
    } else if (Array.isArray(d.causes)) {
      const list = el("ol", { class: "diagnosis" });
      for (const c of d.causes) {
        const item = el("li", {}, el("strong", {}, c.title || JSON.stringify(c)));
        if (c.component) item.append(" [" + c.component + (c.mechanism ? " / " + c.mechanism : "") + "]");
        if (c.confidence !== undefined) item.append(" — confidence " + fmt(100 * c.confidence, 0) + " %");
        if (c.remedy) item.append(el("div", {}, "Remedy: " + c.remedy));
        for (const e of (c.evidence || []).slice(0, 4)) {
          item.append(el("div", { class: "evidence" }, typeof e === "string" ? e : (e.text || JSON.stringify(e))));
        }
        list.append(item);
      }
      parent.append(list);
    } else {
      parent.append(el("pre", {}, JSON.stringify(d, null, 2)));
    }
  }

  if (showSlo) {
    root.append(el("p", { class: "muted" }, "SLO: p99 < " + report.slo.p99_ms + " ms and errors < " +
      fmt(100 * report.slo.error_rate, 2) + " %."));
  }
  root.append(el("h2", {}, "Summary"), summaryTable(report.phases));

  // The verdict a caller attached (crest demo): its headline and tables, before the charts.
  if (report.verdict && Array.isArray(report.verdict.tables)) {
    const box = el("section", { id: "verdict" }, el("h2", {}, "Verdict"));
    if (report.verdict.headline) box.append(el("p", {}, el("strong", {}, report.verdict.headline)));
    for (const tb of report.verdict.tables) {
      box.append(el("h3", {}, tb.title || ""));
      const table = el("table", { class: "verdict" },
        el("tr", {}, ...[...tb.columns, ""].map(h => el("th", {}, h))));
      for (const r of tb.rows || []) {
        const ok = r.ok === true ? "held" : r.ok === false ? "broken" : "";
        table.append(el("tr", {}, ...r.cells.map(c => el("td", {}, c)),
          el("td", { class: ok }, r.ok === true ? "ok" : r.ok === false ? "no" : "")));
      }
      box.append(table);
    }
    root.append(box);
  }

  if (report.phases.length > 1) {
    root.append(el("h2", {}, "Side by side"));
    const grid = el("div", { class: "grid" });
    root.append(grid);
    const pick = (id, ...labels) => report.phases.flatMap(p => (p.charts.find(c => c.id === id)?.series || [])
      .filter(s => labels.includes(s.label)).map(s => ({ label: p.name + " " + s.label, t: s.t, y: s.y })));
    chart(grid, "Latency p99", "ms", pick("latency", "p99"), [], [], true);
    chart(grid, "Throughput", "req/s", pick("throughput", "requests"), [], [], true);
    chart(grid, "Error rate", "%", pick("errors", "failed requests"), [], [], true);
    // A run's VU chart is one "VUs" series, or "busy" beside "allocated" (crest run's newer JSON).
    chart(grid, "Active virtual users", "VUs", pick("vus", "VUs", "busy"), [], [], true);
  }

  for (const p of report.phases) {
    root.append(el("h2", {}, "Phase: " + p.name));
    if (p.scale_responses.length) {
      const t = el("table", {}, el("tr", {}, ...["service", "replicas", "breach → decision s",
        "decision → serving s"].map(h => el("th", {}, h))));
      for (const r of p.scale_responses) {
        t.append(el("tr", {}, el("td", {}, r.service), el("td", {}, r.from + " → " + r.to),
          el("td", {}, r.breach_t === null ? "–" : fmt(r.decision_t - r.breach_t)),
          el("td", {}, r.serving_t === null ? "–" : fmt(r.serving_t - r.decision_t))));
      }
      root.append(el("h3", {}, "Autoscaling response"), t);
    }
    const grid = el("div", { class: "grid" });
    root.append(grid);
    for (const c of p.charts) chart(grid, c.title, c.unit, c.series, p.faults, p.events);
    for (const t of (p.tables || [])) dataTable(root, t);
    diagnosis(root, p.diagnosis);
    for (const n of p.notes) root.append(el("p", { class: "muted" }, n));
  }
  window.reportReady = true;
})();
