// Unknown fields are errors: every field of a Kubernetes object is looked up in the Kubernetes
// OpenAPI types as kubernetes-models publishes them (its TypeScript declarations: one interface
// per OpenAPI definition, with its properties and their types), recursing through objects, arrays
// and maps. The JSON-schema validators of the same package (k8s-schema.mjs) check types, enums
// and required fields but accept any extra property, as the published schemas do.
import fs from "node:fs";
import path from "node:path";
import { ROOT } from "./repo.mjs";

const NODE_MODULES = path.join(ROOT, "node_modules");
const interfaces = new Map(); // d.ts path -> { props: Map<name, type text>, imports: Map<alias, d.ts path> }

function resolveImport(fromFile, spec) {
  const base = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec) : path.join(NODE_MODULES, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

// The interface declared in a .d.ts file: its property names and type texts.
function load(file) {
  if (interfaces.has(file)) return interfaces.get(file);
  let parsed = null;
  if (fs.existsSync(file)) {
    const text = fs.readFileSync(file, "utf8").replace(/\/\*\*[\s\S]*?\*\//g, "");
    const imports = new Map();
    for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
      for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, resolveImport(file, m[2]));
    }
    const start = text.search(/export interface I\w+( extends [\w, ]+)? \{/);
    if (start >= 0) {
      const props = new Map();
      let i = text.indexOf("{", start) + 1;
      let depth = 1;
      let current = "";
      for (; i < text.length && depth > 0; ++i) {
        const c = text[i];
        if (c === "{") depth++;
        if (c === "}") depth--;
        if (depth === 0) break;
        if (c === ";" && depth === 1) {
          const m = current.trim().match(/^"([^"]+)"\??:\s*([\s\S]+)$/);
          if (m) props.set(m[1], m[2].trim());
          current = "";
        } else {
          current += c;
        }
      }
      parsed = { props, imports };
    }
  }
  interfaces.set(file, parsed);
  return parsed;
}

function checkValue(value, type, owner, where, errors) {
  if (value === null || value === undefined) return;
  type = type.trim();
  const array = type.match(/^Array<([\s\S]+)>$/);
  if (array) {
    if (Array.isArray(value)) value.forEach((v, i) => checkValue(v, array[1], owner, `${where}[${i}]`, errors));
    return;
  }
  const map = type.match(/^\{\s*\[key: string\]:\s*([\s\S]+?);?\s*\}$/);
  if (map) {
    if (typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) checkValue(v, map[1], owner, `${where}.${k}`, errors);
    }
    return;
  }
  if (/^I\w+$/.test(type) && owner.imports.has(type)) {
    checkObject(value, owner.imports.get(type), where, errors);
  }
  // Anything else (string, number, enums, IntOrString, Quantity...) is a leaf: the JSON-schema
  // validators check it.
}

function checkObject(obj, file, where, errors) {
  const decl = load(file);
  if (!decl || typeof obj !== "object" || Array.isArray(obj)) return;
  for (const [k, v] of Object.entries(obj)) {
    if (!decl.props.has(k)) {
      errors.push(`${where}.${k}: unknown field (not in ${path.basename(file, ".d.ts")})`);
      continue;
    }
    checkValue(v, decl.props.get(k), decl, `${where}.${k}`, errors);
  }
}

// The type declaration of apiVersion/kind, or null when kubernetes-models has none.
export function declarationFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  const file = path.join(NODE_MODULES, "kubernetes-models", ...(group ? [group, version] : [version]), `${kind}.d.ts`);
  return load(file) ? file : null;
}

// Errors for every field (at any depth) that the object's type does not declare.
export function unknownFields(obj) {
  if (!obj?.apiVersion || !obj?.kind) return ["missing apiVersion or kind"];
  const file = declarationFile(obj.apiVersion, obj.kind);
  if (!file) return [`no type declaration for ${obj.apiVersion} ${obj.kind}`];
  const errors = [];
  checkObject(obj, file, `${obj.kind}/${obj.metadata?.name ?? "?"}`, errors);
  return errors;
}

// Errors for every field of an ObjectMeta (metadata of a custom resource) that ObjectMeta does
// not declare.
export function unknownMetadataFields(metadata, where) {
  const file = path.join(NODE_MODULES, "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta.d.ts");
  if (!load(file)) return [`no type declaration for ObjectMeta (${file})`];
  const errors = [];
  checkObject(metadata, file, `${where}.metadata`, errors);
  return errors;
}
