// The metric catalogue (deploy/grafana/known-metrics.txt), the exporters' allowlist, and the
// Prometheus text exposition of a live process.
import path from "node:path";
import { DEPLOY, read } from "./repo.mjs";

export const KNOWN_FILE = path.join(DEPLOY, "grafana/known-metrics.txt");
export const EXPORTER_FILE = path.join(DEPLOY, "grafana/exporter-metrics.txt");

const TYPES = new Set(["counter", "gauge", "histogram"]);
const BINARIES = new Set(["storefront", "crest"]);
const STATUSES = new Set(["implemented", "planned"]);

function lines(file) {
  return read(file)
    .split("\n")
    .map((l, i) => ({ n: i + 1, f: l.replace(/#.*/, "").trim().split(/\s+/).filter(Boolean) }))
    .filter((l) => l.f.length);
}

export function loadKnown(file = KNOWN_FILE) {
  const m = new Map();
  for (const { n, f } of lines(file)) {
    const [name, type, binary, status] = f;
    if (f.length !== 4 || !TYPES.has(type) || !BINARIES.has(binary) || !STATUSES.has(status)) {
      throw new Error(`${file}:${n}: expected "name type binary status", got "${f.join(" ")}"`);
    }
    if (m.has(name)) throw new Error(`${file}:${n}: duplicate ${name}`);
    m.set(name, { name, type, binary, status });
  }
  return m;
}

export const EXPORTER_PREFIXES = {
  mysql_: "mysqld_exporter",
  redis_: "redis_exporter",
  node_: "node_exporter",
  haproxy_: "haproxy",
  kube_: "kube-state-metrics",
};

export function loadExporterAllowlist(file = EXPORTER_FILE) {
  const m = new Map();
  for (const { n, f } of lines(file)) {
    if (f.length !== 2) throw new Error(`${file}:${n}: expected "name source"`);
    m.set(f[0], f[1]);
  }
  return m;
}

// Resolve a series name to its catalogue entry: histogram series map to their family.
export function resolve(name, known, exporters) {
  if (known.has(name)) {
    const k = known.get(name);
    if (k.type === "histogram") return { ok: false, why: `${name} is a histogram: use _bucket, _sum or _count` };
    return { ok: true, entry: k, family: name };
  }
  const h = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (h && known.has(h[1])) {
    const k = known.get(h[1]);
    if (k.type !== "histogram") return { ok: false, why: `${name}: ${h[1]} is a ${k.type}, not a histogram` };
    return { ok: true, entry: k, family: h[1] };
  }
  if (exporters.has(name)) return { ok: true, exporter: exporters.get(name), family: name };
  const prefix = Object.keys(EXPORTER_PREFIXES).find((p) => name.startsWith(p));
  if (prefix) return { ok: false, why: `${name} is not in the ${EXPORTER_PREFIXES[prefix]} allowlist` };
  return { ok: false, why: `${name} is not in known-metrics.txt` };
}

// Metric families present in a text exposition: # TYPE lines and sample names (histogram and
// summary series folded into their family).
export function exposedFamilies(text) {
  const fams = new Map();
  for (const line of text.split("\n")) {
    const t = /^# TYPE ([A-Za-z_:][A-Za-z0-9_:]*) (\w+)/.exec(line);
    if (t) {
      fams.set(t[1], t[2]);
      continue;
    }
    if (!line || line.startsWith("#")) continue;
    const s = /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(line);
    if (!s) continue;
    const name = s[1];
    const base = name.replace(/_(bucket|sum|count)$/, "");
    if (base !== name && fams.has(base)) continue;
    if (!fams.has(name)) fams.set(name, "untyped");
  }
  return fams;
}
