// Custom resources (ExternalSecret, SecretStore, IngressClassParams, ...) validated against the
// openAPIV3Schema of their CustomResourceDefinition, taken from the pinned CRDs in
// deploy/k8s/components, as the API server would with strict field validation: types, enums,
// patterns, required fields and CEL-free structural rules through Ajv, and unknown fields as
// errors (a structural schema prunes undeclared fields unless x-kubernetes-preserve-unknown-fields
// says otherwise; kubectl's default --validate=strict rejects them). Metadata is checked against
// the ObjectMeta type like every built-in object.
import path from "node:path";
import AjvModule from "ajv";
import { DEPLOY, walk, yamlDocs } from "./repo.mjs";
import { unknownMetadataFields } from "./k8s-strict.mjs";

const Ajv = AjvModule.default ?? AjvModule;
const COMPONENTS = path.join(DEPLOY, "k8s/components");

// Kubernetes' structural-schema extensions, as Ajv keywords that check nothing themselves.
const EXTENSIONS = [
  "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-embedded-resource",
  "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-validations",
];

// A copy of a CRD schema in which every object that declares its properties refuses others, and
// int-or-string fields accept both.
function strictSchema(s, isRoot = false) {
  if (Array.isArray(s)) return s.map((x) => strictSchema(x));
  if (!s || typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "properties") {
      out.properties = Object.fromEntries(Object.entries(v).map(([p, ps]) =>
        // metadata of the resource itself is ObjectMeta, checked separately.
        [p, isRoot && p === "metadata" ? { type: "object" } : strictSchema(ps)]));
    } else if (["items", "additionalProperties", "not"].includes(k) && typeof v === "object") {
      out[k] = strictSchema(v);
    } else if (["allOf", "anyOf", "oneOf"].includes(k)) {
      out[k] = v.map((x) => strictSchema(x));
    } else {
      out[k] = v;
    }
  }
  if (out["x-kubernetes-int-or-string"]) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (out.properties && out.additionalProperties === undefined && !out["x-kubernetes-preserve-unknown-fields"]) {
    out.additionalProperties = false;
  }
  return out;
}

let registry = null; // "group/version/Kind" -> { crd, version, validate (lazy) }

function loadRegistry() {
  if (registry) return registry;
  registry = new Map();
  for (const f of walk(COMPONENTS, (p) => /\.ya?ml$/.test(p))) {
    for (const doc of yamlDocs(f)) {
      if (doc.kind !== "CustomResourceDefinition") continue;
      for (const v of doc.spec.versions || []) {
        if (!v.served) continue;
        registry.set(`${doc.spec.group}/${v.name}/${doc.spec.names.kind}`, { crd: doc.metadata.name, file: f, version: v, validate: null });
      }
    }
  }
  return registry;
}

// The CRD (name and file) serving apiVersion/kind, or null.
export function crdFor(apiVersion, kind) {
  const r = loadRegistry().get(`${apiVersion}/${kind}`);
  return r ? { name: r.crd, file: r.file } : null;
}

// Errors of a custom resource against its CRD; null when no pinned CRD serves its kind.
export function customResourceErrors(obj) {
  const entry = loadRegistry().get(`${obj.apiVersion}/${obj.kind}`);
  if (!entry) return null;
  if (!entry.validate) {
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    for (const k of EXTENSIONS) ajv.addKeyword(k);
    entry.validate = ajv.compile(strictSchema(entry.version.schema.openAPIV3Schema, true));
  }
  const where = `${obj.kind}/${obj.metadata?.name ?? "?"}`;
  const errors = [];
  if (!entry.validate(obj)) {
    for (const e of entry.validate.errors) {
      const at = `${where}${e.instancePath.replaceAll("/", ".")}`;
      if (e.keyword === "additionalProperties") errors.push(`${at}.${e.params.additionalProperty}: unknown field (not in the ${entry.crd} schema)`);
      else errors.push(`${at}: ${e.message}${e.params?.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : ""}`);
    }
  }
  return errors.concat(unknownMetadataFields(obj.metadata || {}, where));
}
