// Every Prometheus expression of deploy/ parsed by Prometheus itself (promtool check rules over a
// generated rule file, one recording rule per expression): the dashboards' panels, variables and
// annotations, and the Prometheus Adapter's seriesQuery/metricsQuery templates (with <<.Series>>,
// <<.LabelMatchers>> and <<.GroupBy>> filled in as the adapter does). The adapter's metric names
// must also be catalogued (known-metrics.txt or the exporters' allowlist) like the dashboards'.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { DEPLOY, read, run, which } from "./lib/repo.mjs";
import { adapterExpressions, dashboardExpressions, metricNames } from "./lib/promql.mjs";
import { loadKnown, loadExporterAllowlist, resolve } from "./lib/metrics.mjs";

const DASHBOARDS = path.join(DEPLOY, "grafana/dashboards");
// Grafana's variables and macros replaced by values of the right kind.
function fromGrafana(expr) {
  return String(expr)
    .replace(/\$__(rate_)?interval|\$__range/g, "5m")
    .replace(/\[\$\{?\w+\}?\]/g, "[5m]")
    .replace(/\$\{(\w+)(:\w+)?\}|\$(\w+)/g, "x");
}

export function allExpressions() {
  const out = [];
  for (const f of fs.readdirSync(DASHBOARDS).filter((f) => f.endsWith(".json")).sort()) {
    const dash = JSON.parse(read(path.join(DASHBOARDS, f)));
    for (const { where, expr, variable } of dashboardExpressions(dash)) {
      let e = expr?.query ?? expr;
      if (variable) {
        const lv = /^\s*label_values\s*\(\s*(.*)\s*,\s*\w+\s*\)\s*$/s.exec(e) || /^\s*query_result\s*\((.*)\)\s*$/s.exec(e);
        if (!lv) continue; // label_values(label) and metrics(regex) are not PromQL
        e = lv[1];
      }
      out.push({ where: `grafana/dashboards/${f}: ${where}`, expr: fromGrafana(e) });
    }
  }
  return out.concat(adapterExpressions());
}

test("promtool parses every PromQL expression (dashboards, Prometheus Adapter rules)", { skip: which("promtool") ? false : "promtool is not installed here (Debian: prometheus)" }, () => {
  const exprs = allExpressions();
  assert.ok(exprs.length >= 20, `only ${exprs.length} expressions found`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crest-promql-"));
  try {
    const groups = exprs.map((e, i) => ({ name: `expr_${i}`, rules: [{ record: `crest_check:expr_${i}`, expr: e.expr }] }));
    const file = path.join(dir, "rules.yaml");
    fs.writeFileSync(file, YAML.stringify({ groups }));
    const r = run("promtool", ["check", "rules", file]);
    if (r.status !== 0) {
      const out = `${r.stdout}${r.stderr}`;
      const named = [...out.matchAll(/group "?expr_(\d+)"?|expr_(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
      const where = [...new Set(named)].map((i) => `  ${exprs[i].where}: ${exprs[i].expr}`).join("\n");
      assert.fail(`promtool rejects PromQL:\n${where || out}\n${out}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the Prometheus Adapter's metric names are catalogued", () => {
  const known = loadKnown();
  const exporters = loadExporterAllowlist();
  for (const { where, expr } of adapterExpressions()) {
    for (const name of metricNames(expr)) {
      const r = resolve(name, known, exporters);
      assert.ok(r.ok, `${where}: ${name}: ${r.why ?? "not in known-metrics.txt or the exporter allowlist"}`);
    }
  }
});
