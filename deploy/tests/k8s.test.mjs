// Kubernetes, offline: every resource file and every kustomize build validated against the
// Kubernetes OpenAPI schemas (kubernetes-models), overlays built with a real kustomize
// (kubectl kustomize), and the platform's conventions checked on the built objects.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import YAML from "yaml";
import { DEPLOY, ROOT, read, rel, run, which, yamlDocs, kustomizeCommand, kustomizeBuild, envFile, durationSeconds } from "./lib/repo.mjs";
import { validate } from "./lib/k8s-schema.mjs";
import { loadKnown } from "./lib/metrics.mjs";
import { crdFor } from "./lib/k8s-crd.mjs";
import { loadDir, parseFile } from "./lib/terraform.mjs";

const K8S = path.join(DEPLOY, "k8s");
const BASE = path.join(K8S, "base");
const SERVICES = { users: 8081, catalog: 8082, cart: 8083, orders: 8084, worker: 8085 };
const OVERLAYS = ["staging", "production"];
const ADDONS = ["metrics-server", "aws-load-balancer-controller", "cluster-autoscaler", "prometheus-adapter", "external-secrets"];
const COMPONENTS = path.join(K8S, "components");
const KUSTOMIZATIONS = [
  BASE,
  ...OVERLAYS.map((o) => path.join(K8S, "overlays", o)),
  // crest up's one-machine overlay: built and checked like the others, never deployed.
  path.join(K8S, "overlays", "local"),
  // The distributed load test (coordinator Job, workers Indexed Job): built and checked.
  path.join(K8S, "load"),
  path.join(DEPLOY, "logging/fluent-bit"),
  path.join(DEPLOY, "grafana"),
];
const LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component"];
const noKustomize = kustomizeCommand() ? false : "no kustomize here (kubectl kustomize or kustomize); per-file checks still run";

const kustomization = (dir) => YAML.parse(read(path.join(dir, "kustomization.yaml")));
const isDir = (p) => fs.existsSync(p) && fs.statSync(p).isDirectory();

// Resource files of a kustomization, recursively through directory resources (bases, add-ons)
// and components. Unless told otherwise this includes the add-ons' rendered upstream manifests
// (deploy/k8s/components), which get our labels from their kustomization at build.
function resourceFiles(dir, { rendered = true } = {}) {
  const out = [];
  for (const r of [...(kustomization(dir).resources || []), ...(kustomization(dir).components || [])]) {
    const p = path.resolve(dir, r);
    if (isDir(p)) out.push(...resourceFiles(p, { rendered }));
    else if (rendered || !p.startsWith(COMPONENTS + path.sep)) out.push(p);
  }
  return out;
}

// Every kustomization.yaml a kustomization uses, through its directory resources (bases, add-ons).
function kustomizationFiles(dir) {
  const out = [path.join(dir, "kustomization.yaml")];
  for (const r of [...(kustomization(dir).resources || []), ...(kustomization(dir).components || [])]) {
    const p = path.resolve(dir, r);
    if (isDir(p)) out.push(...kustomizationFiles(p));
  }
  return out;
}

// Built once, on first use (a run selecting only per-file tests builds nothing); a failed build
// is reported by its own test and leaves an empty object list.
let builtAll = null;
const buildErrors = [];
function allBuilds() {
  if (builtAll) return builtAll;
  builtAll = {};
  for (const dir of noKustomize ? [] : KUSTOMIZATIONS) {
    try {
      builtAll[rel(dir)] = kustomizeBuild(dir);
    } catch (e) {
      buildErrors.push(e.message);
      builtAll[rel(dir)] = [];
    }
  }
  return builtAll;
}
const builds = new Proxy({}, { get: (_, k) => allBuilds()[k], ownKeys: () => Reflect.ownKeys(allBuilds()), getOwnPropertyDescriptor: (_, k) => Reflect.getOwnPropertyDescriptor(allBuilds(), k) });
const overlayBuild = (o) => allBuilds()[`deploy/k8s/overlays/${o}`];
// The storefront's own objects of an overlay (namespace crest), without the cluster add-ons.
const crestObjects = (o) => overlayBuild(o).filter((x) => x.metadata?.namespace === "crest" || (x.kind === "Namespace" && x.metadata.name === "crest"));
const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
// The objects the convention checks run on: built overlays if kustomize exists, else base files.
const subjects = () =>
  noKustomize
    ? { base: resourceFiles(BASE).flatMap((f) => yamlDocs(f)) }
    : Object.fromEntries(OVERLAYS.map((o) => [o, crestObjects(o)]));

test("every resource file validates against the Kubernetes schemas", async () => {
  const files = new Set(KUSTOMIZATIONS.flatMap(resourceFiles));
  assert.ok(files.size >= 30, `only ${files.size} resource files found`);
  for (const f of files) {
    for (const doc of yamlDocs(f)) {
      const errs = await validate(doc);
      assert.deepEqual(errs, [], `${rel(f)} ${doc.kind}/${doc.metadata?.name}: ${errs.join("; ")}`);
    }
  }
});

test("every YAML file under deploy/k8s and deploy/logging is referenced by a kustomization or documented config", () => {
  const used = new Set(KUSTOMIZATIONS.flatMap(resourceFiles));
  for (const dir of KUSTOMIZATIONS) {
    for (const p of kustomization(dir).patches || []) used.add(path.resolve(dir, p.path));
    for (const k of kustomizationFiles(dir)) used.add(k);
    for (const g of kustomization(dir).configMapGenerator || []) for (const f of g.files || []) used.add(path.resolve(dir, f.split("=").pop()));
  }
  const configs = new Set(["deploy/k8s/monitoring/prometheus-adapter-values.yaml", "deploy/k8s/monitoring/prometheus-scrape-config.yaml"]);
  const all = [K8S, path.join(DEPLOY, "logging")].flatMap((d) =>
    fs.readdirSync(d, { recursive: true }).map((f) => path.join(d, f)).filter((f) => /\.ya?ml$/.test(f)));
  for (const f of all) assert.ok(used.has(f) || configs.has(rel(f)), `${rel(f)} is not used by any kustomization`);
});

test("overlay patches target objects that exist in their bases", () => {
  for (const o of OVERLAYS) {
    const dir = path.join(K8S, "overlays", o);
    const objs = resourceFiles(dir).flatMap((f) => yamlDocs(f));
    for (const p of kustomization(dir).patches || []) {
      for (const doc of yamlDocs(path.join(dir, p.path))) {
        const target = objs.find((x) => x.kind === doc.kind && x.metadata.name === doc.metadata.name);
        assert.ok(target, `${o}/${p.path}: no ${doc.kind} ${doc.metadata.name} in the bases`);
        assert.equal(target.apiVersion, doc.apiVersion, `${o}/${p.path}: apiVersion of ${doc.kind} ${doc.metadata.name}`);
      }
    }
  }
});

test("kustomize builds every base and overlay, and every built object validates", { skip: noKustomize }, async () => {
  allBuilds();
  assert.deepEqual(buildErrors, []);
  for (const [dir, objs] of Object.entries(builds)) {
    assert.ok(objs.length > 0, `${dir} built nothing`);
    for (const o of objs) {
      const errs = await validate(o);
      assert.deepEqual(errs, [], `${dir} ${o.kind}/${o.metadata?.name}: ${errs.join("; ")}`);
    }
  }
  for (const o of OVERLAYS) {
    const kinds = crestObjects(o).map((x) => x.kind).concat(overlayBuild(o).filter((x) => x.kind === "DaemonSet").map((x) => x.kind));
    for (const k of ["Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap", "ServiceAccount", "Ingress", "DaemonSet"]) {
      assert.ok(kinds.includes(k), `${o} has no ${k}`);
    }
  }
});

test("every object and pod template carries the app.kubernetes.io name, part-of and component labels", () => {
  const check = (where, objs) => {
    for (const o of objs) {
      for (const l of LABELS) assert.ok(o.metadata?.labels?.[l], `${where} ${o.kind}/${o.metadata.name} lacks label ${l}`);
      assert.equal(o.metadata.labels["app.kubernetes.io/part-of"], "crest");
      const tpl = o.spec?.template?.metadata;
      if (tpl) for (const l of LABELS) assert.ok(tpl.labels?.[l], `${where} ${o.kind}/${o.metadata.name} pod template lacks ${l}`);
    }
  };
  for (const f of new Set(KUSTOMIZATIONS.flatMap((d) => resourceFiles(d, { rendered: false })))) check(rel(f), yamlDocs(f));
  for (const [dir, objs] of Object.entries(builds)) check(dir, objs);
});

test("Deployments: probes, resources, non-root security context, zone spread, grace above drain", () => {
  for (const [where, objs] of Object.entries(subjects())) {
    const deps = byKind(objs, "Deployment");
    assert.deepEqual(deps.map((d) => d.metadata.name).sort(), Object.keys(SERVICES).sort(), where);
    for (const d of deps) {
      const name = d.metadata.name;
      const at = `${where} Deployment/${name}`;
      const pod = d.spec.template.spec;
      assert.equal(d.spec.replicas, undefined, `${at}: replicas is owned by the HPA, do not set it`);
      assert.equal(pod.securityContext?.runAsNonRoot, true, `${at}: runAsNonRoot`);
      assert.ok(pod.securityContext?.runAsUser > 0, `${at}: runAsUser must be non-zero`);
      assert.equal(pod.securityContext?.seccompProfile?.type, "RuntimeDefault", `${at}: seccomp`);
      const zone = (pod.topologySpreadConstraints || []).find((t) => t.topologyKey === "topology.kubernetes.io/zone");
      assert.ok(zone, `${at}: no topology spread across zones`);
      assert.deepEqual(zone.labelSelector.matchLabels, d.spec.selector.matchLabels, `${at}: spread selector`);
      assert.equal(pod.containers.length, 1);
      const c = pod.containers[0];
      const port = c.ports.find((p) => p.name === "http");
      assert.equal(port?.containerPort, SERVICES[name], `${at}: container port`);
      assert.deepEqual(c.args, [name], `${at}: role argument`);
      assert.equal(c.readinessProbe?.httpGet?.path, "/readyz", `${at}: readiness`);
      assert.equal(c.livenessProbe?.httpGet?.path, "/healthz", `${at}: liveness`);
      assert.ok(c.startupProbe?.httpGet, `${at}: startup probe`);
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) assert.equal(probe.httpGet.port, "http");
      for (const r of ["cpu", "memory"]) {
        assert.ok(c.resources?.requests?.[r], `${at}: requests.${r}`);
        assert.ok(c.resources?.limits?.[r], `${at}: limits.${r}`);
      }
      const sc = c.securityContext || {};
      assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation`);
      assert.equal(sc.readOnlyRootFilesystem, true, `${at}: readOnlyRootFilesystem`);
      assert.deepEqual(sc.capabilities?.drop, ["ALL"], `${at}: capabilities`);
      // The service's own config: port and drain grace.
      const cfg = envFile(path.join(BASE, name, "config.env"));
      assert.equal(Number(cfg.CREST_HTTP_PORT), SERVICES[name], `${name}/config.env port`);
      const drain = durationSeconds(cfg.CREST_HTTP_DRAIN_GRACE);
      const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
      assert.ok(pod.terminationGracePeriodSeconds > preStop + drain,
        `${at}: terminationGracePeriodSeconds ${pod.terminationGracePeriodSeconds} must exceed preStop ${preStop}s + drain grace ${drain}s`);
      const ann = d.spec.template.metadata.annotations || {};
      assert.equal(ann["prometheus.io/scrape"], "true", `${at}: not scraped`);
      assert.equal(Number(ann["prometheus.io/port"]), SERVICES[name], `${at}: scrape port`);
      assert.equal(ann["prometheus.io/path"], "/metrics");
      const refs = (c.envFrom || []).map((e) => e.configMapRef?.name || e.secretRef?.name);
      assert.ok(refs.some((r) => r.startsWith(`${name}-config`)), `${at}: does not load ${name}-config`);
    }
  }
});

test("one standalone autoscaling/v2 HPA per Deployment in base/<service>/hpa.yaml, with behavior set", () => {
  const known = loadKnown();
  const adapter = YAML.parse(read(path.join(K8S, "monitoring/prometheus-adapter-values.yaml")));
  const served = new Map();
  for (const r of [...adapter.rules.custom, ...adapter.rules.external]) {
    served.set(r.name.as, /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(r.seriesQuery)[1]);
  }
  for (const name of Object.keys(SERVICES)) {
    const f = path.join(BASE, name, "hpa.yaml");
    const docs = yamlDocs(f);
    assert.equal(docs.length, 1, `${rel(f)} must hold exactly one document`);
    const h = docs[0];
    assert.equal(h.apiVersion, "autoscaling/v2");
    assert.equal(h.kind, "HorizontalPodAutoscaler");
    assert.deepEqual(h.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name });
    assert.ok(h.spec.minReplicas >= 2, `${name}: minReplicas >= 2 so one pod can fail`);
    assert.ok(h.spec.maxReplicas > h.spec.minReplicas, `${name}: maxReplicas`);
    const res = h.spec.metrics.filter((m) => m.type === "Resource").map((m) => m.resource.name).sort();
    assert.deepEqual(res, ["cpu", "memory"], `${name}: CPU and memory metrics`);
    const custom = h.spec.metrics.filter((m) => m.type === "Pods" || m.type === "External");
    assert.ok(custom.length >= 1, `${name}: no Pods/External metric (latency or queue backlog)`);
    for (const m of custom) {
      const metric = (m.pods || m.external).metric.name;
      assert.ok(served.has(metric), `${name}: ${metric} is not served by a Prometheus Adapter rule`);
      assert.ok(known.has(served.get(metric).replace(/_(bucket|count|sum)$/, "")), `${name}: adapter series ${served.get(metric)} is not a known metric`);
    }
    if (name !== "worker") {
      assert.ok(custom.some((m) => m.pods?.metric.name === "http_server_request_duration_seconds_p95"), `${name}: no request latency metric`);
    }
    const b = h.spec.behavior;
    assert.ok(b?.scaleUp && b?.scaleDown, `${name}: behavior must set scaleUp and scaleDown`);
    assert.ok(b.scaleUp.stabilizationWindowSeconds <= 30, `${name}: scale-up must be fast`);
    assert.ok(b.scaleUp.policies.some((p) => p.periodSeconds <= 30 && (p.type === "Percent" ? p.value >= 100 : p.value >= 2)), `${name}: scale-up policy too slow`);
    assert.ok(b.scaleDown.stabilizationWindowSeconds >= 180, `${name}: scale-down must be slow`);
    assert.ok(b.scaleDown.policies.every((p) => p.type !== "Percent" || p.value <= 25), `${name}: scale-down steps too big`);
  }
  const hpaFiles = fs.readdirSync(K8S, { recursive: true }).filter((f) => /hpa/.test(f));
  assert.ok(hpaFiles.every((f) => f.startsWith("base/") || /overlays\/\w+\/hpa-bounds\.yaml$/.test(f)), `HPAs outside base/: ${hpaFiles}`);
});

test("overlays change only HPA bounds, never the scaling policy", () => {
  for (const o of OVERLAYS) {
    const dir = path.join(K8S, "overlays", o);
    for (const p of kustomization(dir).patches || []) {
      for (const doc of yamlDocs(path.join(dir, p.path))) {
        if (doc.kind !== "HorizontalPodAutoscaler") continue;
        assert.deepEqual(Object.keys(doc.spec).filter((k) => !["minReplicas", "maxReplicas"].includes(k)), [], `${o}/${p.path} ${doc.metadata.name} patches more than bounds`);
      }
    }
    if (!noKustomize) {
      for (const h of byKind(overlayBuild(o), "HorizontalPodAutoscaler")) {
        const base = yamlDocs(path.join(BASE, h.metadata.name, "hpa.yaml"))[0];
        assert.deepEqual(h.spec.metrics, base.spec.metrics, `${o} ${h.metadata.name}: metrics differ from base`);
        assert.deepEqual(h.spec.behavior, base.spec.behavior, `${o} ${h.metadata.name}: behavior differs from base`);
        assert.ok(h.spec.minReplicas >= 2 && h.spec.maxReplicas > h.spec.minReplicas, `${o} ${h.metadata.name}: bounds`);
      }
    }
  }
});

test("PodDisruptionBudgets and Services select their Deployment's pods", () => {
  for (const [where, objs] of Object.entries(subjects())) {
    for (const d of byKind(objs, "Deployment")) {
      const name = d.metadata.name;
      const podLabels = d.spec.template.metadata.labels;
      const pdb = find(objs, "PodDisruptionBudget", name);
      assert.ok(pdb, `${where}: no PDB for ${name}`);
      assert.ok(pdb.spec.maxUnavailable !== undefined || pdb.spec.minAvailable !== undefined);
      for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels)) assert.equal(podLabels[k], v, `${where}: PDB ${name} selector`);
      if (name === "worker") continue;
      const svc = find(objs, "Service", name);
      assert.ok(svc, `${where}: no Service for ${name}`);
      for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(podLabels[k], v, `${where}: Service ${name} selector`);
      const ports = d.spec.template.spec.containers[0].ports.map((p) => p.name);
      for (const p of svc.spec.ports) assert.ok(ports.includes(p.targetPort), `${where}: Service ${name} targets unknown port ${p.targetPort}`);
    }
  }
});

test("Ingress: ALB, every route prefix to its service, cookie stickiness, /readyz health checks", () => {
  const routes = {
    "/api/users": "users", "/api/login": "users", "/api/logout": "users", "/api/me": "users",
    "/api/categories": "catalog", "/api/products": "catalog",
    "/api/cart": "cart",
    "/api/checkout": "orders", "/api/orders": "orders",
  };
  for (const [where, objs] of Object.entries(subjects())) {
    const ings = byKind(objs, "Ingress");
    assert.equal(ings.length, 1, where);
    const ing = ings[0];
    assert.equal(ing.spec.ingressClassName, "alb");
    const a = ing.metadata.annotations;
    const attrs = Object.fromEntries(a["alb.ingress.kubernetes.io/target-group-attributes"].split(",").map((kv) => kv.split("=")));
    assert.equal(attrs["stickiness.enabled"], "true", `${where}: stickiness`);
    assert.equal(attrs["stickiness.type"], "lb_cookie");
    assert.ok(Number(attrs["deregistration_delay.timeout_seconds"]) > 10, "deregistration delay must cover the drain grace");
    assert.equal(a["alb.ingress.kubernetes.io/healthcheck-path"], "/readyz");
    assert.equal(a["alb.ingress.kubernetes.io/target-type"], "ip");
    const paths = Object.fromEntries(ing.spec.rules.flatMap((r) => r.http.paths).map((p) => [p.path, p.backend.service]));
    assert.deepEqual(Object.keys(paths).sort(), Object.keys(routes).sort(), `${where}: routes`);
    for (const [p, svc] of Object.entries(routes)) {
      assert.equal(paths[p].name, svc, `${where}: ${p} goes to ${paths[p].name}`);
      const s = find(objs, "Service", svc);
      assert.ok(s?.spec.ports.some((x) => x.name === paths[p].port.name), `${where}: ${svc} has no port ${paths[p].port.name}`);
    }
    if (where !== "base") assert.ok(a["alb.ingress.kubernetes.io/certificate-arn"], `${where}: no certificate`);
  }
});

test("ServiceAccounts carry exactly the IRSA roles Terraform creates, named and scoped as it names them", { skip: noKustomize }, async () => {
  // Terraform's IRSA roles: the eks module's irsa_roles (controllers, the storefront's secret
  // reader) plus one workload role per key of the root's workload_policies (namespace crest).
  const eks = await loadDir(path.join(DEPLOY, "terraform/modules/eks"));
  const root = await loadDir(path.join(DEPLOY, "terraform"));
  const roles = new Map();
  // irsa_roles is a merge(...) expression: its literal entries read from the HCL text.
  for (const m of eks.config.locals.irsa_roles.matchAll(/([\w-]+) = \{\s*namespace\s*=\s*"([^"]+)"\s*service_account\s*=\s*"([^"]+)"/g)) {
    roles.set(`${m[2]}/${m[3]}`, m[1]);
  }
  for (const svc of Object.keys(root.config.locals.workload_policies)) roles.set(`crest/${svc}`, svc);
  assert.ok(roles.size >= 9, `only ${roles.size} IRSA roles found in Terraform`);
  for (const o of OVERLAYS) {
    const tfvars = await parseFile(path.join(DEPLOY, "terraform/envs", `${o}.tfvars`));
    const annotated = new Map();
    for (const sa of byKind(overlayBuild(o), "ServiceAccount")) {
      const arn = sa.metadata.annotations?.["eks.amazonaws.com/role-arn"];
      if (arn) annotated.set(`${sa.metadata.namespace}/${sa.metadata.name}`, arn);
    }
    for (const [sa, key] of roles) {
      assert.ok(annotated.has(sa), `${o}: no ServiceAccount ${sa} with the IRSA role crest-${o}-${key}`);
      assert.match(annotated.get(sa), new RegExp(`^arn:aws:iam::\\d{12}:role/crest-${tfvars.environment}-${key}$`), `${o}: ServiceAccount ${sa}`);
    }
    for (const sa of annotated.keys()) assert.ok(roles.has(sa), `${o}: ServiceAccount ${sa} names an IRSA role Terraform does not create for it`);
  }
});

test("overlays set their environment's AWS names and generated config", { skip: noKustomize }, () => {
  for (const o of OVERLAYS) {
    const cms = byKind(overlayBuild(o), "ConfigMap"); // fluent-bit-env lives in namespace logging
    const sf = cms.find((c) => c.metadata.name.startsWith("storefront-config-"));
    assert.ok(sf, `${o}: storefront-config not generated with a hash suffix`);
    assert.equal(sf.data.CREST_DYNAMODB_CARTS_TABLE, `crest-${o}-carts`);
    assert.equal(sf.data.CREST_DYNAMODB_SESSIONS_TABLE, `crest-${o}-sessions`);
    assert.match(sf.data.CREST_SQS_ORDERS_QUEUE_URL, new RegExp(`/crest-${o}-orders$`));
    const fb = cms.find((c) => c.metadata.name.startsWith("fluent-bit-env-"));
    assert.equal(fb.metadata.namespace, "logging");
    assert.equal(fb.data.LOG_GROUP_NAME, `/crest/crest-${o}/application`, `${o}: log group must match Terraform's observability module`);
    const img = byKind(crestObjects(o), "Deployment")[0].spec.template.spec.containers[0].image;
    assert.match(img, /\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/crest\/storefront:/, `${o}: image ${img}`);
    const storefront = byKind(overlayBuild(o), "Deployment").filter((d) => d.spec.template.spec.containers.some((c) => c.image.includes("/crest/storefront:")));
    assert.deepEqual(storefront.map((d) => d.metadata.namespace), Object.keys(SERVICES).map(() => "crest"));
  }
});

test("the storefront listens on the pod's address, not loopback", () => {
  assert.equal(envFile(path.join(BASE, "storefront.env")).CREST_HTTP_ADDRESS, "0.0.0.0");
});

test("namespace crest enforces the restricted Pod Security Standard", () => {
  const ns = yamlDocs(path.join(BASE, "namespace.yaml"))[0];
  assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  assert.equal(kustomization(BASE).namespace, "crest");
});

test("Fluent Bit ships the crest namespace's logs to CloudWatch Logs", () => {
  const dir = path.join(DEPLOY, "logging/fluent-bit");
  const conf = read(path.join(dir, "fluent-bit.conf"));
  assert.match(conf, /Path\s+\/var\/log\/containers\/\*_crest_\*\.log/);
  assert.match(conf, /Name\s+kubernetes[\s\S]*Merge_Log\s+On/, "JSON log lines must be merged into the record");
  assert.match(conf, /Name\s+cloudwatch_logs/);
  assert.match(conf, /log_group_name\s+\$\{LOG_GROUP_NAME\}/);
  const ds = yamlDocs(path.join(dir, "daemonset.yaml"))[0];
  const c = ds.spec.template.spec.containers[0];
  assert.ok(c.resources.limits.memory && c.resources.requests.cpu);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.ok(c.volumeMounts.find((v) => v.mountPath === "/var/log").readOnly);
  assert.match(c.image, /:\d+\.\d+\.\d+$/, "pin the Fluent Bit image");
});

test("distributed load test: coordinator Job behind a headless Service, workers as an Indexed Job", { skip: noKustomize }, () => {
  const objs = builds["deploy/k8s/load"];
  const coordinator = find(objs, "Job", "crest-load-coordinator");
  const workers = find(objs, "Job", "crest-load-workers");
  const service = find(objs, "Service", "crest-load-coordinator");
  assert.ok(coordinator && workers && service, "coordinator Job, workers Job and Service");
  const cc = coordinator.spec.template.spec.containers[0];
  const wc = workers.spec.template.spec.containers[0];
  const env = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e]));
  const argAfter = (c, flag) => c.args[c.args.indexOf(flag) + 1];
  // N agrees everywhere: the coordinator waits for exactly the pods the Indexed Job runs.
  assert.equal(workers.spec.completionMode, "Indexed");
  assert.equal(workers.spec.parallelism, workers.spec.completions);
  assert.equal(argAfter(cc, "--workers"), "$(WORKERS)");
  assert.equal(Number(env(cc).WORKERS.value), workers.spec.completions, "WORKERS must equal the workers' completions");
  assert.deepEqual([cc.args[0], wc.args[0]], ["run", "worker"]);
  // Workers find the coordinator through the headless Service, on the port it listens on.
  assert.equal(service.spec.clusterIP, "None");
  const port = Number(argAfter(cc, "--coordinator").split(":").pop());
  assert.equal(service.spec.ports[0].port, port);
  assert.ok(cc.ports.some((p) => p.containerPort === port));
  assert.equal(argAfter(wc, "--coordinator"), `${service.metadata.name}:${port}`);
  for (const [k, v] of Object.entries(service.spec.selector)) assert.equal(coordinator.spec.template.metadata.labels[k], v);
  // One shared token from a Secret created out of band: never an object (or a literal) here.
  for (const c of [cc, wc]) {
    assert.equal(env(c).CREST_TOKEN.valueFrom.secretKeyRef.name, "crest-load-token");
    assert.ok(!c.args.includes("--token"), "the token must not be an argument");
  }
  assert.equal(byKind(objs, "Secret").length, 0);
  // The plan and its data come from the generated ConfigMap, mounted by the coordinator only.
  const plan = byKind(objs, "ConfigMap").find((m) => m.metadata.name.startsWith("crest-load-plan"));
  assert.ok(plan && plan.data["plan.yaml"], "plan ConfigMap");
  const mounted = coordinator.spec.template.spec.volumes.find((v) => v.configMap);
  assert.equal(mounted.configMap.name, plan.metadata.name);
  assert.equal(cc.args[1], "/plan/plan.yaml");
  const planYaml = YAML.parse(plan.data["plan.yaml"]);
  for (const feed of Object.values(planYaml.data || {})) assert.ok(plan.data[feed.file], `data file ${feed.file} is not in the ConfigMap`);
  // Spread over nodes, sized, non-root, never retried (a retried worker would be refused).
  const anti = workers.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
  assert.equal(anti.topologyKey, "kubernetes.io/hostname");
  assert.deepEqual(anti.labelSelector.matchLabels, { "app.kubernetes.io/name": workers.spec.template.metadata.labels["app.kubernetes.io/name"] });
  for (const job of [coordinator, workers]) {
    const c = job.spec.template.spec.containers[0];
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.template.spec.restartPolicy, "Never");
    assert.equal(job.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  }
  assert.equal(wc.resources.requests.cpu, wc.resources.limits.cpu, "a throttled worker measures its own stalls");
  assert.equal(coordinator.spec.template.metadata.annotations["prometheus.io/port"], argAfter(cc, "--metrics-addr").split(":").pop());
});

test("distributed load test NetworkPolicies: workers reach the coordinator and the target, nothing else comes in", { skip: noKustomize }, () => {
  const objs = builds["deploy/k8s/load"];
  const policy = (name) => find(objs, "NetworkPolicy", name);
  const workers = policy("crest-load-worker");
  const coordinator = policy("crest-load-coordinator");
  assert.ok(workers && coordinator);
  for (const p of [workers, coordinator]) assert.deepEqual([...p.spec.policyTypes].sort(), ["Egress", "Ingress"]);
  const ports = (rules) => rules.flatMap((r) => (r.ports || []).map((x) => `${x.protocol}/${x.port}`));
  const toCoordinator = workers.spec.egress.find((r) => r.to.some((t) => t.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "crest-load-coordinator"));
  assert.deepEqual(ports([toCoordinator]), ["TCP/7700"]);
  for (const need of ["TCP/443", "UDP/53"]) assert.ok(ports(workers.spec.egress).includes(need), `workers cannot reach ${need}`);
  assert.equal((workers.spec.ingress || []).length, 0, "nothing connects to a worker");
  const fromWorkers = coordinator.spec.ingress.find((r) => r.from.some((f) => f.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "crest-load-worker"));
  assert.deepEqual(ports([fromWorkers]), ["TCP/7700"]);
  assert.deepEqual(ports(coordinator.spec.egress), ["UDP/53", "TCP/53"], "the coordinator sends nothing out but DNS");
  // The policies select the pods the Jobs run.
  const job = (name) => find(objs, "Job", name).spec.template.metadata.labels;
  for (const [p, j] of [[workers, "crest-load-workers"], [coordinator, "crest-load-coordinator"]]) {
    for (const [k, v] of Object.entries(p.spec.podSelector.matchLabels)) assert.equal(job(j)[k], v);
  }
});

test("Prometheus scrape config labels series by service", () => {
  const jobs = YAML.parse(read(path.join(K8S, "monitoring/prometheus-scrape-config.yaml")));
  const relabel = jobs[0].relabel_configs;
  assert.ok(relabel.some((r) => r.target_label === "service" && r.source_labels[0] === "__meta_kubernetes_pod_label_app_kubernetes_io_name"));
  assert.ok(relabel.some((r) => r.action === "keep" && r.source_labels[0] === "__meta_kubernetes_pod_annotation_prometheus_io_scrape"));
});

test("NetworkPolicies: deny by default, then each role only its port in and its backends out", { skip: noKustomize }, () => {
  for (const o of OVERLAYS) {
    const objs = overlayBuild(o);
    const policies = byKind(objs, "NetworkPolicy").filter((p) => p.metadata.namespace === "crest");
    const deny = policies.find((p) => Object.keys(p.spec.podSelector || {}).length === 0 && !p.spec.ingress && !p.spec.egress);
    assert.ok(deny && deny.spec.policyTypes.includes("Ingress") && deny.spec.policyTypes.includes("Egress"), `${o}: no default-deny policy for ingress and egress`);
    const selects = (p, labels) => Object.entries(p.spec.podSelector?.matchLabels || {}).every(([k, v]) => labels[k] === v);
    for (const d of byKind(objs, "Deployment").filter((x) => x.metadata.namespace === "crest")) {
      const labels = d.spec.template.metadata.labels;
      const mine = policies.filter((p) => p !== deny && selects(p, labels));
      const name = d.metadata.name;
      const ports = d.spec.template.spec.containers.flatMap((c) => (c.ports || []).map((p) => p.containerPort));
      const inbound = mine.flatMap((p) => (p.spec.ingress || []).flatMap((r) => (r.ports || []).map((x) => x.port)));
      for (const port of ports) assert.ok(inbound.includes(port), `${o}: ${name} port ${port} is not allowed in`);
      assert.ok(inbound.every((p) => ports.includes(p)), `${o}: ${name} allows ports in that it does not serve: ${inbound}`);
      const outbound = mine.flatMap((p) => (p.spec.egress || []).flatMap((r) => (r.ports || []).map((x) => `${x.protocol}/${x.port}`)));
      for (const need of ["UDP/53", "TCP/443", "TCP/3306", "TCP/6379"]) assert.ok(outbound.includes(need), `${o}: ${name} cannot reach ${need}`);
    }
  }
});

// ---- Cluster add-ons (deploy/k8s/components): pinned, rendered, wired into every overlay ----

const environmentOf = async (o) => parseFile(path.join(DEPLOY, "terraform/envs", `${o}.tfvars`));
const containersOf = (x) => [...(x.spec?.template?.spec?.initContainers || []), ...(x.spec?.template?.spec?.containers || [])];
const headerOf = (f) => (read(f).match(/^(#.*\n)+/) || [""])[0];

test("every overlay installs every pinned add-on, and every add-on directory is one", () => {
  assert.deepEqual(fs.readdirSync(COMPONENTS).sort(), [...ADDONS].sort(), "deploy/k8s/components holds exactly the add-ons");
  for (const o of OVERLAYS) {
    const resources = kustomization(path.join(K8S, "overlays", o)).resources.map((r) => path.resolve(K8S, "overlays", o, r));
    for (const a of ADDONS) assert.ok(resources.includes(path.join(COMPONENTS, a)), `${o} does not install ${a}`);
  }
});

test("add-on manifests say which chart or release they render, and pin every image to a version", () => {
  for (const a of ADDONS) {
    const dir = path.join(COMPONENTS, a);
    for (const f of resourceFiles(dir)) {
      // Ours, not rendered: the namespace Helm's --create-namespace would have made.
      if (yamlDocs(f).every((d) => d.kind === "Namespace")) continue;
      const header = headerOf(f);
      const version = /-v?(\d+\.\d+\.\d+)\.ya?ml$/.exec(path.basename(f))?.[1];
      assert.ok(version, `${rel(f)}: the file name must carry the chart/release version (name-<version>.yaml)`);
      assert.ok(header.includes(version), `${rel(f)}: its header comment does not name version ${version}`);
      assert.match(header, /github\.com\/[\w.-]+\/[\w.-]+/, `${rel(f)}: its header must name the upstream repository it was rendered from`);
    }
  }
  for (const [where, objs] of Object.entries(builds)) {
    for (const x of objs) {
      for (const c of containersOf(x)) {
        if (/(^|\/)crest\/(storefront|crest):/.test(c.image)) continue; // ours: the environment's tag (tested above)
        const tag = /:([^:/@]+)(@sha256:[0-9a-f]{64})?$/.exec(c.image)?.[1];
        assert.match(tag ?? "", /^v?\d+\.\d+\.\d+$/, `${where} ${x.kind}/${x.metadata.name} container ${c.name}: image ${c.image} is not pinned to a release version`);
      }
    }
  }
});

test("add-ons get the environment's cluster name, region and VPC from the overlay", { skip: noKustomize }, async () => {
  for (const o of OVERLAYS) {
    const env = await environmentOf(o);
    const cluster = `crest-${env.environment}`;
    assert.doesNotMatch(YAML.stringify(overlayBuild(o)), /set-by-overlay/, `${o}: an add-on value the overlay must set is left unset`);
    const lbc = find(overlayBuild(o), "Deployment", "aws-load-balancer-controller").spec.template.spec.containers[0];
    assert.ok(lbc.args.includes(`--cluster-name=${cluster}`), `${o}: load balancer controller --cluster-name`);
    assert.ok(lbc.args.includes(`--aws-region=${env.region}`), `${o}: load balancer controller --aws-region`);
    assert.ok(lbc.args.includes(`--aws-vpc-tags=Name=${cluster}`), `${o}: load balancer controller VPC (the network module names the VPC after the cluster)`);
    assert.ok(lbc.args.includes("--ingress-class=alb"));
    const ca = find(overlayBuild(o), "Deployment", "cluster-autoscaler").spec.template.spec.containers[0];
    const discovery = ca.command.find((a) => a.startsWith("--node-group-auto-discovery="));
    assert.equal(discovery, `--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/${cluster}`, `${o}: cluster autoscaler discovery tags`);
    assert.equal(ca.env.find((e) => e.name === "AWS_REGION")?.value, env.region, `${o}: cluster autoscaler region`);
    const store = byKind(overlayBuild(o), "SecretStore")[0];
    assert.equal(store.spec.provider.aws.region, env.region, `${o}: SecretStore region`);
  }
});

test("references resolve inside each build: ServiceAccounts, RBAC, Services of webhooks and APIServices, Secrets, CRDs", { skip: noKustomize }, () => {
  // Objects the API server or EKS provides, and Secrets made outside kustomize.
  const BUILT_IN_ROLES = new Set(["ClusterRole/system:auth-delegator", "Role/kube-system/extension-apiserver-authentication-reader", "ClusterRole/view", "ClusterRole/edit", "ClusterRole/admin"]);
  const SYSTEM_ACCOUNTS = new Set(["kube-system/horizontal-pod-autoscaler"]);
  const tlsScript = read(path.join(COMPONENTS, "aws-load-balancer-controller/webhook-tls.sh"));
  const scriptSecret = `${/^NAMESPACE=(\S+)/m.exec(tlsScript)[1]}/${/^SECRET_NAME=(\S+)/m.exec(tlsScript)[1]}`;
  for (const o of OVERLAYS) {
    const objs = overlayBuild(o);
    const has = (kind, ns, name) => objs.some((x) => x.kind === kind && x.metadata.name === name && (ns === null || x.metadata.namespace === ns));
    for (const x of objs.filter((y) => y.spec?.template?.spec)) {
      const ns = x.metadata.namespace;
      const pod = x.spec.template.spec;
      const at = `${o} ${x.kind} ${ns}/${x.metadata.name}`;
      assert.ok(pod.serviceAccountName && has("ServiceAccount", ns, pod.serviceAccountName), `${at}: ServiceAccount ${pod.serviceAccountName} is not in the build`);
      const secrets = [
        ...(pod.volumes || []).filter((v) => v.secret).map((v) => v.secret.secretName),
        ...containersOf(x).flatMap((c) => (c.envFrom || []).filter((e) => e.secretRef && !e.secretRef.optional).map((e) => e.secretRef.name)),
      ];
      for (const s of secrets) {
        const external = byKind(objs, "ExternalSecret").some((e) => e.metadata.namespace === ns && (e.spec.target?.name ?? e.metadata.name) === s);
        assert.ok(has("Secret", ns, s) || external || `${ns}/${s}` === scriptSecret, `${at}: Secret ${s} is neither built, nor an ExternalSecret's target, nor made by webhook-tls.sh`);
      }
    }
    for (const b of objs.filter((y) => y.kind === "RoleBinding" || y.kind === "ClusterRoleBinding")) {
      const at = `${o} ${b.kind} ${b.metadata.name}`;
      const ref = b.roleRef.kind === "Role" ? `Role/${b.metadata.namespace}/${b.roleRef.name}` : `ClusterRole/${b.roleRef.name}`;
      assert.ok(BUILT_IN_ROLES.has(ref) || has(b.roleRef.kind, b.roleRef.kind === "Role" ? b.metadata.namespace : null, b.roleRef.name), `${at}: roleRef ${ref} is not in the build`);
      for (const s of b.subjects.filter((x) => x.kind === "ServiceAccount")) {
        assert.ok(SYSTEM_ACCOUNTS.has(`${s.namespace}/${s.name}`) || has("ServiceAccount", s.namespace, s.name), `${at}: subject ServiceAccount ${s.namespace}/${s.name} is not in the build`);
      }
    }
    const services = [
      ...objs.filter((y) => /WebhookConfiguration$/.test(y.kind)).flatMap((w) => w.webhooks.map((h) => ({ at: `${w.kind} ${w.metadata.name} ${h.name}`, ...h.clientConfig.service }))),
      ...byKind(objs, "APIService").filter((a) => a.spec.service).map((a) => ({ at: `APIService ${a.metadata.name}`, ...a.spec.service })),
    ];
    assert.ok(services.length >= 7, `${o}: only ${services.length} webhook/APIService references`);
    for (const s of services) {
      const svc = objs.find((y) => y.kind === "Service" && y.metadata.name === s.name && y.metadata.namespace === s.namespace);
      assert.ok(svc, `${o} ${s.at}: Service ${s.namespace}/${s.name} is not in the build`);
      assert.ok(svc.spec.ports.some((p) => p.port === (s.port ?? 443)), `${o} ${s.at}: Service ${s.name} has no port ${s.port ?? 443}`);
    }
    for (const x of objs) {
      if (!/\.(io|aws|com)\//.test(x.apiVersion) || /k8s\.io\//.test(x.apiVersion)) continue;
      const crd = crdFor(x.apiVersion, x.kind);
      assert.ok(crd && has("CustomResourceDefinition", null, crd.name), `${o} ${x.kind}/${x.metadata.name}: its CRD is not installed by the same build`);
    }
  }
});

test("the Prometheus Adapter serves exactly the rules of prometheus-adapter-values.yaml, and a rule change rolls its pods", { skip: noKustomize }, async () => {
  const { createHash } = await import("node:crypto");
  const values = YAML.parse(read(path.join(K8S, "monitoring/prometheus-adapter-values.yaml")));
  for (const o of OVERLAYS) {
    const cm = find(overlayBuild(o), "ConfigMap", "prometheus-adapter");
    const config = YAML.parse(cm.data["config.yaml"], { uniqueKeys: true });
    assert.deepEqual(Object.keys(config).sort(), ["externalRules", "rules"], `${o}: adapter config keys`);
    assert.deepEqual(config.rules, values.rules.custom, `${o}: the adapter's rules differ from prometheus-adapter-values.yaml rules.custom`);
    assert.deepEqual(config.externalRules, values.rules.external, `${o}: the adapter's externalRules differ from prometheus-adapter-values.yaml rules.external`);
    const dep = find(overlayBuild(o), "Deployment", "prometheus-adapter");
    const sum = createHash("sha256").update(cm.data["config.yaml"]).digest("hex");
    assert.equal(dep.spec.template.metadata.annotations["checksum/config"], sum, `${o}: checksum/config is not the SHA-256 of config.yaml`);
    assert.ok(dep.spec.template.spec.containers[0].args.includes("--config=/etc/adapter/config.yaml"));
    assert.equal(dep.spec.template.spec.volumes.find((v) => v.name === "config").configMap.name, cm.metadata.name);
    for (const g of ["custom", "external"]) assert.ok(find(overlayBuild(o), "APIService", `v1beta1.${g}.metrics.k8s.io`), `${o}: no ${g} metrics APIService`);
  }
});

test("the storefront's Secret comes from Terraform's secret through an ExternalSecret, with its own IRSA ServiceAccount", { skip: noKustomize }, async () => {
  const main = read(path.join(DEPLOY, "terraform/main.tf"));
  const secretName = /resource "aws_secretsmanager_secret" "storefront" \{[^}]*?name\s*=\s*"([^"]+)"/s.exec(main)[1];
  for (const o of OVERLAYS) {
    const env = await environmentOf(o);
    const objs = overlayBuild(o);
    const consumed = new Set(byKind(crestObjects(o), "Deployment").flatMap((d) => containersOf(d).flatMap((c) => (c.envFrom || []).filter((e) => e.secretRef).map((e) => e.secretRef.name))));
    assert.deepEqual([...consumed], ["storefront-secrets"], `${o}: Secrets the storefront reads`);
    const es = byKind(objs, "ExternalSecret");
    assert.equal(es.length, 1, `${o}: one ExternalSecret`);
    const e = es[0];
    assert.equal(e.metadata.namespace, "crest");
    assert.equal(e.spec.target.name, "storefront-secrets");
    const remote = secretName.replace("${local.name}", `crest-${env.environment}`);
    for (const d of e.spec.data) {
      assert.equal(d.remoteRef.key, remote, `${o}: ${d.secretKey} is read from ${d.remoteRef.key}, Terraform's secret is ${remote}`);
      assert.equal(d.remoteRef.property, d.secretKey, `${o}: ${d.secretKey} must be the JSON property of the same name`);
      assert.match(d.secretKey, /^CREST_[A-Z0-9_]+$/);
    }
    assert.deepEqual(e.spec.data.map((d) => d.secretKey).sort(), ["CREST_DB_PRIMARY_URL", "CREST_DB_REPLICA_URLS", "CREST_REDIS_URL"], `${o}: the keys deploy/README.md documents`);
    const store = objs.find((x) => x.kind === e.spec.secretStoreRef.kind && x.metadata.name === e.spec.secretStoreRef.name && x.metadata.namespace === "crest");
    assert.ok(store, `${o}: SecretStore ${e.spec.secretStoreRef.name} is not in namespace crest`);
    const saName = store.spec.provider.aws.auth.jwt.serviceAccountRef.name;
    const sa = objs.find((x) => x.kind === "ServiceAccount" && x.metadata.name === saName && x.metadata.namespace === "crest");
    assert.ok(sa?.metadata.annotations?.["eks.amazonaws.com/role-arn"], `${o}: the SecretStore's ServiceAccount ${saName} has no IRSA role`);
    assert.equal(sa.automountServiceAccountToken, false, `${o}: no pod should run as ${saName}`);
    const podsAsIt = objs.filter((x) => x.spec?.template?.spec?.serviceAccountName === saName && x.metadata.namespace === "crest");
    assert.deepEqual(podsAsIt, [], `${o}: pods run as the secret reader`);
  }
});

test("webhook-tls.sh issues a certificate for the webhook Service and the Secret the controller mounts", { skip: which("openssl") ? false : "openssl is not installed here" }, () => {
  const dir = path.join(COMPONENTS, "aws-load-balancer-controller");
  const r = run("bash", [path.join(dir, "webhook-tls.sh"), "--dry-run"]);
  assert.equal(r.status, 0, r.stderr);
  const secret = yamlDocs(r.stdout, { isText: true })[0];
  const objs = resourceFiles(dir).flatMap((f) => yamlDocs(f));
  const dep = find(objs, "Deployment", "aws-load-balancer-controller");
  assert.equal(secret.metadata.namespace, dep.metadata.namespace);
  assert.equal(secret.metadata.name, dep.spec.template.spec.volumes.find((v) => v.name === "cert").secret.secretName);
  for (const k of ["ca.crt", "tls.crt", "tls.key"]) assert.ok(secret.data[k], `no ${k}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "crest-webhook-tls-"));
  try {
    for (const k of ["ca.crt", "tls.crt"]) fs.writeFileSync(path.join(tmp, k), Buffer.from(secret.data[k], "base64"));
    const verify = run("openssl", ["verify", "-CAfile", path.join(tmp, "ca.crt"), path.join(tmp, "tls.crt")]);
    assert.equal(verify.status, 0, `the serving certificate does not chain to the CA: ${verify.stdout}${verify.stderr}`);
    const san = run("openssl", ["x509", "-in", path.join(tmp, "tls.crt"), "-noout", "-ext", "subjectAltName"]).stdout;
    const services = new Set(objs.filter((x) => /WebhookConfiguration$/.test(x.kind)).flatMap((w) => w.webhooks.map((h) => `${h.clientConfig.service.name}.${h.clientConfig.service.namespace}.svc`)));
    assert.ok(services.size >= 1);
    for (const s of services) assert.ok(san.includes(`DNS:${s}`), `the certificate does not name ${s}: ${san}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
