// End-to-end check of `crest report`: a real load run against the embedded storefront, the
// report built from its JSON, then the page opened from disk in headless Chromium (Debian's
// package, driven by playwright-core): no console errors, every chart drawn with data.
//   node tests/report/report_page_test.mjs CREST_BINARY STOREFRONT_BINARY
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const [crest, storefront] = process.argv.slice(2).map(p => resolve(p));
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const chromiumPath = "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.log("SKIPPED: /usr/bin/chromium is absent (Debian package chromium; scripts/install-deps installs it)");
  process.exit(0);
}
const { chromium } = await import(join(repo, "node_modules/playwright-core/index.mjs"));
const work = mkdtempSync(join(tmpdir(), "crest-report-page-"));
let shop;

async function waitFor(predicate, what, ms = 20000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (predicate()) return;
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error("timed out waiting for " + what);
}

try {
  const portFile = join(work, "port");
  shop = spawn(storefront, ["all", "--seed", "--port", "0", "--port-file", portFile,
                            "--set", "log.level=warn"], { stdio: ["ignore", "ignore", "inherit"] });
  await waitFor(() => existsSync(portFile), "the storefront's port file");
  const port = readFileSync(portFile, "utf8").trim();

  const runJson = join(work, "run.json");
  const runHtml = join(work, "run.html");  // crest run --out html: the same page code, one run
  const run = spawnSync(crest, ["run", join(repo, "examples/plans/smoke.yaml"), "--target",
    `http://127.0.0.1:${port}`, "--duration", "4s", "--vus", "4", "-q", "--out", `json=${runJson}`,
    "--out", `html=${runHtml}`],
    { encoding: "utf8", timeout: 60000 });
  assert.ok(existsSync(runJson), "crest run wrote no JSON: " + run.stderr);
  const startMs = JSON.parse(readFileSync(runJson, "utf8")).start_unix_ms;
  const started = typeof startMs === "number" ? startMs / 1000 : undefined;

  // A fault window and a scale event in the run's window, so the overlays are drawn too.
  const faults = join(work, "chaos.jsonl");
  const iso = s => new Date(s * 1000).toISOString();
  if (typeof started === "number") {
    writeFileSync(faults, [
      { ts: iso(started + 1), event: "start", id: "f1", fault: "redis-stop", target: "redis", parameters: {}, undo: {} },
      { ts: iso(started + 2), event: "end", id: "f1", fault: "redis-stop", target: "redis", how: "stopped" },
    ].map(l => JSON.stringify(l)).join("\n") + "\n");
  } else {
    writeFileSync(faults, "");
  }
  const out = join(work, "report");
  const made = spawnSync(crest, ["report", "--load", `baseline=${runJson}`, "--load",
    `scaled=${runJson}`, "--faults", `scaled=${faults}`, "--out", out], { encoding: "utf8" });
  assert.equal(made.status, 0, "crest report failed: " + made.stderr);
  const html = join(out, "report.html");
  const markdown = readFileSync(join(out, "report.md"), "utf8");
  const data = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
  const runData = JSON.parse(readFileSync(runJson, "utf8"));
  assert.equal(data.phases[0].summary.requests, runData.http_reqs, "report requests = run requests");
  assert.match(markdown, new RegExp(`\\| baseline \\| ${runData.http_reqs} \\|`));

  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless",
    "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("console", m => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", e => problems.push(e.message));
  page.on("request", r => { if (!r.url().startsWith("file:")) problems.push("network: " + r.url()); });
  await page.goto("file://" + html);
  await page.waitForFunction(() => window.reportReady === true, null, { timeout: 10000 });
  const charts = await page.$$eval(".chart", boxes => boxes.map(b => ({
    title: b.dataset.title, points: Number(b.dataset.points),
    canvas: !!b.querySelector("canvas"),
    // a drawn canvas has non-blank pixels
    ink: (() => { const c = b.querySelector("canvas"); if (!c) return 0;
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++; return n; })(),
  })));
  await page.screenshot({ path: join(out, "report.png"), fullPage: true });
  const drawn = () => page.$$eval(".chart", boxes => boxes.map(b => ({
    title: b.dataset.title, points: Number(b.dataset.points),
    ink: (() => { const c = b.querySelector("canvas"); if (!c) return 0;
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++; return n; })(),
  })));
  await page.goto("file://" + runHtml);
  await page.waitForFunction(() => window.reportReady === true, null, { timeout: 10000 });
  const runCharts = await drawn();
  const runTables = await page.$$eval("table.data", ts => ts.map(t => t.dataset.title));
  await browser.close();
  assert.deepEqual(runCharts.map(c => c.title).sort(), ["Active virtual users", "Dropped iterations",
    "Error rate", "Request latency", "Throughput"], "crest run --out html: its charts");
  for (const c of runCharts) assert.ok(c.points > 0 && c.ink > 500, `run page chart '${c.title}' drawn: ${JSON.stringify(c)}`);
  assert.ok(runTables.includes("Steps (latency in ms)") && runTables.includes("Checks"), `run page tables: ${runTables}`);

  assert.deepEqual(problems, [], "console errors or network requests");
  assert.ok(charts.length >= 8, `expected side-by-side and per-phase charts, got ${charts.length}`);
  for (const c of charts) {
    assert.ok(c.canvas && c.points > 0 && c.ink > 500, `chart '${c.title}' drawn with data: ${JSON.stringify(c)}`);
  }
  console.log(`report page: ${charts.length} charts drawn, no console errors; screenshot ${join(out, "report.png")}`);
} finally {
  if (shop) shop.kill("SIGTERM");
  if (!process.env.CREST_KEEP_REPORT) rmSync(work, { recursive: true, force: true });
}
