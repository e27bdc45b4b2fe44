// Opens a report page that already exists (crest demo's) in headless Chromium and checks it:
// no console error, no network request, the verdict section with its tables, and every chart
// that has samples drawn. Saves a full-page screenshot when asked.
//   node tests/report/open_report_page.mjs REPORT.html [SCREENSHOT.png] [--top]
// (--top: the first screen only, 1400x1600, instead of the whole page)
// Exit 0 and "SKIPPED" when Debian's chromium is absent; exit 1 with the reason otherwise.
import { existsSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const top = process.argv.includes("--top");
const [html, screenshot] = process.argv.slice(2).filter(a => a !== "--top").map(p => resolve(p));
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const chromiumPath = "/usr/bin/chromium";
if (!existsSync(chromiumPath)) {
  console.log("SKIPPED: /usr/bin/chromium is absent (Debian package chromium)");
  process.exit(0);
}
assert.ok(html && existsSync(html), `no report page at ${html}`);
const { chromium } = await import(join(repo, "node_modules/playwright-core/index.mjs"));
const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--headless",
  "--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: top ? 1600 : 1000 } });
  const problems = [];
  page.on("console", m => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", e => problems.push(e.message));
  page.on("request", r => { if (!r.url().startsWith("file:")) problems.push("network: " + r.url()); });
  await page.goto("file://" + html);
  await page.waitForFunction(() => window.reportReady === true, null, { timeout: 20000 });
  const verdictRows = await page.$$eval("#verdict table.verdict tr", rows => rows.length);
  const charts = await page.$$eval(".chart", boxes => boxes.map(b => ({
    title: b.dataset.title, points: Number(b.dataset.points),
    ink: (() => { const c = b.querySelector("canvas"); if (!c) return 0;
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++; return n; })(),
  })));
  if (screenshot) await page.screenshot({ path: screenshot, fullPage: !top });
  assert.deepEqual(problems, [], "console errors or network requests");
  assert.ok(verdictRows >= 4, `the verdict section has ${verdictRows} table rows`);
  const drawn = charts.filter(c => c.points > 0);
  assert.ok(drawn.length >= 8, `expected at least 8 charts with data, got ${drawn.length}`);
  for (const c of drawn) assert.ok(c.ink > 500, `chart '${c.title}' has data but was not drawn`);
  console.log(`report page: ${drawn.length} of ${charts.length} charts drawn with data, ` +
    `${verdictRows} verdict rows, no console errors${screenshot ? "; screenshot " + screenshot : ""}`);
} finally {
  await browser.close();
}
