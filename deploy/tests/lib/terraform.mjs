// Terraform configuration parsed offline: HCL -> JSON with @cdktf/hcl2json, merged per directory.
import fs from "node:fs";
import path from "node:path";
import hcl from "@cdktf/hcl2json";
import { read } from "./repo.mjs";

function mergeInto(dst, src) {
  for (const [kind, body] of Object.entries(src)) {
    if (kind === "locals" || kind === "terraform" || kind === "provider") {
      dst[kind] = (dst[kind] || []).concat(Array.isArray(body) ? body : [body]);
      continue;
    }
    dst[kind] ??= {};
    for (const [k, v] of Object.entries(body)) {
      if (kind === "resource" || kind === "data") {
        dst[kind][k] ??= {};
        for (const [name, blocks] of Object.entries(v)) {
          if (dst[kind][k][name]) throw new Error(`duplicate ${kind} ${k}.${name}`);
          dst[kind][k][name] = blocks;
        }
      } else {
        if (dst[kind][k]) throw new Error(`duplicate ${kind} ${k}`);
        dst[kind][k] = v;
      }
    }
  }
  return dst;
}

export async function parseFile(file) {
  return hcl.parse(path.basename(file), read(file));
}

// All *.tf files of a directory as one configuration, plus the raw text for reference checks.
export async function loadDir(dir) {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".tf")).sort();
  const config = {};
  let text = "";
  for (const f of files) {
    mergeInto(config, await parseFile(path.join(dir, f)));
    text += read(path.join(dir, f)) + "\n";
  }
  config.locals = Object.assign({}, ...(config.locals || []));
  return { dir, files, config, text };
}

export const first = (blocks) => (Array.isArray(blocks) ? blocks[0] : blocks);

export function resources(config, type) {
  return Object.entries(config.resource?.[type] || {}).map(([name, blocks]) => ({ name, body: first(blocks) }));
}

// Names referenced as <prefix>.<name> in the configuration's text (comments stripped).
export function references(text, prefix) {
  const code = text.replace(/^\s*#.*$/gm, "").replace(/\/\/.*$/gm, "");
  const re = new RegExp(`(?<![\\w.])${prefix.replace(".", "\\.")}\\.([A-Za-z_][A-Za-z0-9_-]*)`, "g");
  return new Set([...code.matchAll(re)].map((m) => m[1]));
}
