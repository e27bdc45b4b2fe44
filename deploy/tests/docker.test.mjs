// Dockerfiles: linted with dockerfilelint, and checked for what the issue asks of them. (No
// Docker engine here, so they are not built.)
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { createRequire } from "node:module";
import { DEPLOY, ROOT, read } from "./lib/repo.mjs";

const require = createRequire(import.meta.url);
const dockerfilelint = require("dockerfilelint");
const TARGETS = ["storefront", "crest"];

function stages(text) {
  const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  const out = [];
  for (const l of lines) {
    const [instr, ...rest] = l.split(/\s+/);
    if (instr.toUpperCase() === "FROM") out.push({ from: rest.join(" "), lines: [] });
    else out.at(-1).lines.push({ instr: instr.toUpperCase(), args: rest.join(" ") });
  }
  return out;
}

for (const t of TARGETS) {
  const file = path.join(DEPLOY, "docker", `Dockerfile.${t}`);
  const text = read(file);

  test(`Dockerfile.${t} passes dockerfilelint`, () => {
    const lines = text.split("\n");
    const issues = dockerfilelint.run(path.dirname(file), text).filter((i) => {
      // dockerfilelint 1.8 matches HEALTHCHECK options with /--\w+/, so it reads --start-period as
      // the unknown "--start": a false positive. Options are checked by the next test instead.
      const line = lines[i.line - 1] || "";
      return !(i.rule === "invalid_format" && /^HEALTHCHECK .*--start-period=/.test(line));
    });
    assert.deepEqual(issues.map((i) => `line ${i.line}: ${i.title} (${i.rule}): ${lines[i.line - 1]}`), []);
  });

  test(`Dockerfile.${t}: multi-stage Debian 12, release preset, non-root runtime with a health check`, () => {
    const s = stages(text);
    assert.ok(s.length >= 2, "multi-stage");
    assert.match(s[0].from, /^debian:12(\s|$).*AS build/i);
    const runtime = s.at(-1);
    assert.match(runtime.from, /^debian:12(-slim)?\b/);
    const build = s[0].lines.map((l) => `${l.instr} ${l.args}`).join("\n");
    assert.match(build, /cmake --preset release/);
    assert.match(build, new RegExp(`cmake --build --preset release --target ${t}\\b`));
    const user = runtime.lines.filter((l) => l.instr === "USER").at(-1);
    assert.ok(user, "runtime has no USER");
    assert.doesNotMatch(user.args, /^(0|root)(:|$)/, "runtime runs as root");
    const hc = runtime.lines.find((l) => l.instr === "HEALTHCHECK");
    assert.ok(hc, "runtime has no HEALTHCHECK");
    for (const o of hc.args.match(/--[a-z-]+(?==)/g) || []) assert.ok(["--interval", "--timeout", "--start-period", "--retries"].includes(o), `HEALTHCHECK option ${o}`);
    assert.match(hc.args, /CMD \[/);
    const copies = runtime.lines.filter((l) => l.instr === "COPY");
    assert.ok(copies.length >= 1 && copies.every((c) => /--from=build \/out\//.test(c.args)), "runtime copies only the staged binary and libraries");
    const installs = runtime.lines.filter((l) => l.instr === "RUN" && /apt-get install/.test(l.args)).map((l) => l.args).join(" ");
    assert.doesNotMatch(installs, /-dev\b|build-essential|cmake/, "no build dependencies in the runtime stage");
    const entry = runtime.lines.find((l) => l.instr === "ENTRYPOINT");
    assert.equal(entry?.args, `["/usr/local/bin/${t}"]`);
  });

  test(`Dockerfile.${t} installs every C++ -dev package of scripts/install-deps`, () => {
    const deps = read(path.join(ROOT, "scripts/install-deps"));
    const list = /PACKAGES=\(([\s\S]*?)\)/.exec(deps)[1].replace(/#.*$/gm, "").split(/\s+/).filter((p) => /-dev$/.test(p));
    assert.ok(list.length >= 10);
    const build = stages(text)[0].lines.map((l) => l.args).join(" ");
    for (const p of list) assert.ok(new RegExp(`(^|\\s)${p.replace(/[+.]/g, "\\$&")}(\\s|$)`).test(build), `build stage lacks ${p}`);
  });
}
