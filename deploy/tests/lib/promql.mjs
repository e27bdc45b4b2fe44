// Metric names used by a PromQL expression (as Grafana stores it). Not a full parser: it strips
// what cannot be a metric name (strings, label matchers, ranges, grouping clauses, numbers,
// Grafana variables) and keeps identifiers that are not function calls or keywords.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { DEPLOY, read, rel, yamlDocs } from "./repo.mjs";

const ADAPTER = path.join(DEPLOY, "k8s/monitoring/prometheus-adapter-values.yaml");

const KEYWORDS = new Set([
  "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
  "group_left", "group_right", "inf", "nan", "start", "end", "atan2",
]);

export function metricNames(expr) {
  let s = String(expr);
  s = s.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ");
  s = s.replace(/\{[^}]*\}/g, " ");
  s = s.replace(/\[[^\]]*\]/g, " ");
  s = s.replace(/\$\{[^}]*\}|\$\w+/g, " ");
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  s = s.replace(/\boffset\s+-?\d+\w*/g, " ");
  s = s.replace(/(?<![\w:])\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)(?![\w:])/g, " ");
  s = s.replace(/(?<![\w:])(?:0x[0-9a-fA-F]+|\d*\.?\d+(?:[eE][+-]?\d+)?)(?![\w:])/g, " ");
  const names = new Set();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const rest = s.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest)) continue; // a function or aggregation
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.add(m[0]);
  }
  return names;
}

// label_values(metric{...}, label) / metrics(...) / query_result(expr) of Grafana variables.
export function variableMetricNames(query) {
  const q = typeof query === "string" ? query : query?.query ?? "";
  const lv = /^\s*label_values\s*\(\s*(.*)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(q);
  if (lv) return metricNames(lv[1]);
  const qr = /^\s*query_result\s*\((.*)\)\s*$/s.exec(q);
  if (qr) return metricNames(qr[1]);
  if (/^\s*label_values\s*\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/.test(q)) return new Set();
  return metricNames(q);
}

// Every PromQL expression of a Grafana dashboard: panel targets (nested rows too), query
// variables and annotation queries.
export function dashboardExpressions(dash) {
  const out = [];
  const visit = (panels) => {
    for (const p of panels || []) {
      for (const t of p.targets || []) {
        if (t.expr !== undefined) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      }
      visit(p.panels);
    }
  };
  visit(dash.panels);
  for (const v of dash.templating?.list || []) {
    if (v.type === "query") out.push({ where: `variable $${v.name}`, expr: v.query, variable: true });
  }
  for (const a of dash.annotations?.list || []) {
    if (a.expr) out.push({ where: `annotation "${a.name}"`, expr: a.expr });
  }
  return out;
}

// The rendered Prometheus Adapter add-on: its ConfigMap's config.yaml is what the cluster runs.
const ADAPTER_MANIFESTS = path.join(DEPLOY, "k8s/components/prometheus-adapter");

// Rule lists by where they come from: the values file (rules.custom/external/resource) and the
// rendered adapter's config.yaml (rules/externalRules/resourceRules).
function adapterRuleLists() {
  const values = YAML.parse(read(ADAPTER));
  const lists = ["custom", "external", "resource"].map((k) => ({ where: `${rel(ADAPTER)} rules.${k}`, rules: values.rules?.[k] || [] }));
  for (const f of fs.readdirSync(ADAPTER_MANIFESTS).filter((x) => /\.ya?ml$/.test(x) && x !== "kustomization.yaml")) {
    const file = path.join(ADAPTER_MANIFESTS, f);
    for (const doc of yamlDocs(file)) {
      if (doc.kind !== "ConfigMap" || !doc.data?.["config.yaml"]) continue;
      const config = YAML.parse(doc.data["config.yaml"], { uniqueKeys: true });
      for (const k of ["rules", "externalRules", "resourceRules"]) {
        if (config?.[k]) lists.push({ where: `${rel(file)} ConfigMap/${doc.metadata.name} config.yaml ${k}`, rules: Array.isArray(config[k]) ? config[k] : [] });
      }
    }
  }
  return lists;
}

// The Prometheus Adapter's seriesQuery/metricsQuery templates with <<.Series>>, <<.LabelMatchers>>
// and <<.GroupBy>> filled in as the adapter does, from the values file and the rendered add-on.
export function adapterExpressions() {
  const out = [];
  for (const list of adapterRuleLists()) {
    for (const [i, r] of list.rules.entries()) {
      const where = `${list.where}[${i}]`;
      const series = (r.name?.matches || "").replace(/^\^|\$$/g, "") || "up";
      const fill = (q) => q.replaceAll("<<.Series>>", series).replaceAll("<<.LabelMatchers>>", 'namespace="crest"').replaceAll("<<.GroupBy>>", "pod");
      if (r.seriesQuery) out.push({ where: `${where}.seriesQuery`, expr: r.seriesQuery });
      if (r.metricsQuery) out.push({ where: `${where}.metricsQuery`, expr: fill(r.metricsQuery) });
    }
  }
  return out;
}

