// Paths, file walking, YAML loading and external tools shared by the deploy/ tests.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import YAML from "yaml";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const DEPLOY = path.join(ROOT, "deploy");

export const rel = (p) => path.relative(ROOT, p);
export const read = (p) => fs.readFileSync(p, "utf8");

export function walk(dir, pred = () => true) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === "node_modules" || e.name === ".terraform") continue;
      out.push(...walk(p, pred));
    } else if (pred(p)) {
      out.push(p);
    }
  }
  return out.sort();
}

// Every non-empty document of a YAML file (or string), parsed strictly: duplicate keys fail.
// Files are parsed once per process (the add-ons' CRDs are large) and handed out as copies.
const parsedFiles = new Map();
export function yamlDocs(fileOrText, { isText = false } = {}) {
  if (!isText) {
    const st = fs.statSync(fileOrText);
    const hit = parsedFiles.get(fileOrText);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return structuredClone(hit.docs);
    const docs = parseDocs(read(fileOrText), fileOrText, false);
    parsedFiles.set(fileOrText, { mtimeMs: st.mtimeMs, size: st.size, docs });
    return structuredClone(docs);
  }
  return parseDocs(fileOrText, fileOrText, true);
}

function parseDocs(text, fileOrText, isText) {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true });
  const out = [];
  for (const d of docs) {
    if (d.errors.length) {
      throw new Error(`${isText ? "yaml" : rel(fileOrText)}: ${d.errors.map((e) => e.message).join("; ")}`);
    }
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  return out;
}

export function which(cmd) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  return { status: r.status, stdout: r.stdout || "", stderr: r.stderr || "", error: r.error };
}

// A real kustomize: `kubectl kustomize` (kubectl embeds kustomize) or a standalone binary.
export function kustomizeCommand() {
  if (which("kubectl")) return ["kubectl", ["kustomize"]];
  if (which("kustomize")) return ["kustomize", ["build"]];
  return null;
}

export function kustomizeBuild(dir) {
  const k = kustomizeCommand();
  if (!k) return null;
  const r = run(k[0], [...k[1], dir]);
  if (r.status !== 0) throw new Error(`kustomize build ${rel(dir)} failed:\n${r.stderr}`);
  return yamlDocs(r.stdout, { isText: true });
}

// Go-style durations as used by the config ("10s", "1m30s", "500ms") to seconds.
export function durationSeconds(s) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const m of String(s).matchAll(re)) {
    total += Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2]];
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== String(s).length) throw new Error(`bad duration: ${s}`);
  return total;
}

// KEY=VALUE lines (comments and blanks ignored), as kustomize reads an env file.
export function envFile(p) {
  const out = {};
  for (const line of read(p).split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const i = t.indexOf("=");
    out[t.slice(0, i)] = t.slice(i + 1);
  }
  return out;
}
