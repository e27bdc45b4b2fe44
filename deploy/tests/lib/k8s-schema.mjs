// Offline validation of Kubernetes objects against the OpenAPI-derived JSON schemas compiled
// into the pinned kubernetes-models package (types, required fields, enums, formats), and
// strictly: a field the type does not declare is an error (k8s-strict.mjs); and the AWS Load
// Balancer Controller's annotations against its documented keys and value forms. Custom resources
// against the schemas of the pinned CRDs (k8s-crd.mjs).
import { unknownFields } from "./k8s-strict.mjs";
import { albAnnotationErrors } from "./alb-annotations.mjs";
import { customResourceErrors } from "./k8s-crd.mjs";
const cache = new Map();

export async function validatorFor(apiVersion, kind) {
  const key = `${apiVersion}/${kind}`;
  if (cache.has(key)) return cache.get(key);
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [null, apiVersion];
  const mod = group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
  let Model = null;
  try {
    Model = (await import(mod))[kind];
  } catch {
    Model = null;
  }
  cache.set(key, Model);
  return Model;
}

// Returns a list of error strings; empty means valid. The same object (the CRDs appear in every
// build that installs the add-ons) is validated once.
const results = new Map();
export async function validate(obj) {
  const key = JSON.stringify(obj);
  if (!results.has(key)) results.set(key, await validateOnce(obj));
  return results.get(key);
}

async function validateOnce(obj) {
  if (!obj || typeof obj !== "object") return ["not an object"];
  if (!obj.apiVersion || !obj.kind) return ["missing apiVersion or kind"];
  const Model = await validatorFor(obj.apiVersion, obj.kind);
  if (!Model) {
    // A custom resource: its pinned CRD's schema (deploy/k8s/components), strictly.
    const custom = customResourceErrors(obj);
    if (custom) return custom.concat(albAnnotationErrors(obj.metadata?.annotations, "metadata.annotations."));
    return [`no schema for ${obj.apiVersion} ${obj.kind} (unknown kind or API version, and no pinned CRD serves it)`];
  }
  const errors = [];
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(e.message);
  }
  // Annotations are free-form to Kubernetes; the AWS Load Balancer Controller's are checked too.
  return errors.concat(unknownFields(obj), albAnnotationErrors(obj.metadata?.annotations, "metadata.annotations."));
}
