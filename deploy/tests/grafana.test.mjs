// Dashboards use only metric names the code exposes (deploy/grafana/known-metrics.txt) or that
// the pinned exporters publish (exporter-metrics.txt). With CREST_STOREFRONT_BINARY set to a
// built storefront, its live /metrics must contain every "implemented" name a dashboard uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { DEPLOY, read } from "./lib/repo.mjs";
import { adapterExpressions, dashboardExpressions, metricNames, variableMetricNames } from "./lib/promql.mjs";
import { loadKnown, loadExporterAllowlist, resolve, exposedFamilies, EXPORTER_PREFIXES } from "./lib/metrics.mjs";

const DIR = path.join(DEPLOY, "grafana/dashboards");
const REQUIRED = ["red", "database", "cache", "queue", "autoscaling", "loadtest"];
const dashboards = fs.readdirSync(DIR).filter((f) => f.endsWith(".json")).sort()
  .map((f) => ({ file: f, dash: JSON.parse(read(path.join(DIR, f))) }));
const known = loadKnown();
const exporters = loadExporterAllowlist();

// Every metric family each dashboard uses, with where it is used.
function usage() {
  const out = new Map();
  for (const { file, dash } of dashboards) {
    for (const { where, expr, variable } of dashboardExpressions(dash)) {
      for (const n of variable ? variableMetricNames(expr) : metricNames(expr)) {
        if (!out.has(n)) out.set(n, []);
        out.get(n).push(`${file}: ${where}`);
      }
    }
  }
  return out;
}

test("the required dashboards exist, with unique uids and the datasource variable", () => {
  assert.deepEqual(dashboards.map((d) => d.file.replace(".json", "")).sort(), [...REQUIRED].sort());
  const uids = dashboards.map((d) => d.dash.uid);
  assert.equal(new Set(uids).size, uids.length, "duplicate uid");
  for (const { file, dash } of dashboards) {
    assert.ok(dash.title && dash.uid && dash.schemaVersion, file);
    assert.ok(dash.tags.includes("crest"), `${file}: tag crest`);
    assert.ok(dash.templating.list.some((v) => v.type === "datasource" && v.query === "prometheus"), `${file}: datasource variable`);
    const ids = new Set();
    const visit = (panels) => {
      for (const p of panels) {
        assert.ok(!ids.has(p.id), `${file}: duplicate panel id ${p.id}`);
        ids.add(p.id);
        if (p.type === "row") continue;
        assert.ok(p.targets?.length > 0, `${file}: panel "${p.title}" has no query`);
        assert.equal(p.datasource?.uid, "${datasource}", `${file}: panel "${p.title}" must use the datasource variable`);
        for (const t of p.targets) assert.ok(t.expr?.trim(), `${file}: panel "${p.title}" has an empty query`);
        visit(p.panels || []);
      }
    };
    visit(dash.panels);
  }
});

test("known-metrics.txt and the exporter allowlist are well-formed", () => {
  assert.ok(known.size >= 20);
  for (const [name, k] of known) {
    assert.match(name, /^(crest_|http_server_|process_)/, `${name}: our metrics are crest_*, http_server_* or process_*`);
    if (k.type === "counter") assert.match(name, /_total$/, `${name}: counters end in _total`);
    if (/_seconds$/.test(name)) assert.notEqual(k.type, "counter", `${name}`);
  }
  for (const [name, source] of exporters) {
    const prefix = Object.keys(EXPORTER_PREFIXES).find((p) => name.startsWith(p));
    if (prefix) assert.equal(source, EXPORTER_PREFIXES[prefix], `${name} is listed under ${source}`);
    else assert.equal(source, "prometheus", `${name}: unknown exporter prefix`);
  }
});

test("every metric name a dashboard queries is known", () => {
  const problems = [];
  for (const [name, where] of usage()) {
    const r = resolve(name, known, exporters);
    if (!r.ok) problems.push(`${r.why} (${where[0]})`);
  }
  assert.deepEqual(problems, []);
});

test("every dashboard metric family is used at least once (no dead catalogue entries for RED)", () => {
  const used = new Set([...usage().keys()].map((n) => resolve(n, known, exporters).family));
  for (const must of ["http_server_request_duration_seconds", "http_server_active_requests", "process_cpu_seconds_total",
    "process_resident_memory_bytes", "crest_db_query_duration_seconds", "crest_cache_requests_total",
    "crest_queue_messages_dead_lettered_total", "crest_outbox_pending", "crest_load_requests_total",
    "kube_horizontalpodautoscaler_status_desired_replicas", "mysql_slave_status_seconds_behind_master"]) {
    assert.ok(used.has(must), `no dashboard shows ${must}`);
  }
});

async function startStorefront(binary) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "crest-metrics-"));
  const portFile = path.join(tmp, "port");
  const child = spawn(binary, ["all", "--port", "0", "--port-file", portFile], { stdio: ["ignore", "ignore", "pipe"], cwd: tmp });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`storefront exited with ${child.exitCode}: ${stderr}`);
    const port = fs.existsSync(portFile) ? read(portFile).trim() : "";
    if (/^\d+$/.test(port)) return { child, port, tmp };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGTERM");
  throw new Error(`storefront wrote no port file in 15 s: ${stderr}`);
}

async function stop({ child, tmp }) {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(child.pid, "SIGTERM");
    const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid, "SIGKILL"), 20000);
    await exited;
    clearTimeout(timer);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

const BINARY = process.env.CREST_STOREFRONT_BINARY;
test("a live storefront exposes every implemented metric the dashboards and the Prometheus Adapter use",
  { skip: BINARY ? false : "CREST_STOREFRONT_BINARY is not set: checked against known-metrics.txt only" }, async (t) => {
    assert.ok(fs.existsSync(BINARY), `CREST_STOREFRONT_BINARY=${BINARY} does not exist`);
    const proc = await startStorefront(BINARY);
    let text;
    try {
      // Request metrics have series only once a request was served: read the catalogue first.
      for (const warm of ["/api/categories", "/api/products"]) await (await fetch(`http://127.0.0.1:${proc.port}${warm}`)).arrayBuffer();
      const res = await fetch(`http://127.0.0.1:${proc.port}/metrics`);
      assert.equal(res.status, 200);
      text = await res.text();
    } finally {
      await stop(proc);
    }
    const live = exposedFamilies(text);
    const missing = [];
    const wrongType = [];
    // The dashboards' names and the Prometheus Adapter's (the HPAs scale on those).
    const names = new Set([...usage().keys(), ...adapterExpressions().flatMap((e) => [...metricNames(e.expr)])]);
    for (const name of names) {
      const r = resolve(name, known, exporters);
      if (!r.ok || !r.entry || r.entry.binary !== "storefront" || r.entry.status !== "implemented") continue;
      if (!live.has(r.family)) missing.push(r.family);
      else if (live.get(r.family) !== "untyped" && live.get(r.family) !== r.entry.type) wrongType.push(`${r.family}: ${live.get(r.family)} != ${r.entry.type}`);
    }
    assert.deepEqual([...new Set(missing)].sort(), [], "implemented metrics missing from the live /metrics");
    assert.deepEqual(wrongType, []);
    const uncatalogued = [...live.keys()].filter((n) => /^(crest_|http_|process_)/.test(n) && !known.has(n));
    if (uncatalogued.length) t.diagnostic(`exposed but not in known-metrics.txt: ${uncatalogued.join(", ")}`);
    const landed = [...known.values()].filter((k) => k.status === "planned" && k.binary === "storefront" && live.has(k.name));
    if (landed.length) t.diagnostic(`now exposed, mark implemented in known-metrics.txt: ${landed.map((k) => k.name).join(", ")}`);
  });
