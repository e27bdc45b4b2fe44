// Kubernetes, offline: every resource file and every kustomize build validated against the
// Kubernetes OpenAPI schemas (kubernetes-models), overlays built with a real kustomize
// (kubectl kustomize), and the platform's conventions checked on the built objects.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { DEPLOY, ROOT, read, rel, yamlDocs, kustomizeCommand, kustomizeBuild, envFile, durationSeconds } from "./lib/repo.mjs";
import { validate } from "./lib/k8s-schema.mjs";
import { loadKnown } from "./lib/metrics.mjs";

const K8S = path.join(DEPLOY, "k8s");
const BASE = path.join(K8S, "base");
const SERVICES = { users: 8081, catalog: 8082, cart: 8083, orders: 8084, worker: 8085 };
const OVERLAYS = ["staging", "production"];
const KUSTOMIZATIONS = [
  BASE,
  ...OVERLAYS.map((o) => path.join(K8S, "overlays", o)),
  // crest up's one-machine overlay: built and checked like the others, never deployed.
  path.join(K8S, "overlays", "local"),
  // The distributed load test (coordinator Job, workers Indexed Job): built and checked.
  path.join(K8S, "load"),
  path.join(DEPLOY, "logging/fluent-bit"),
  path.join(DEPLOY, "grafana"),
  path.join(K8S, "addons"),
];
const LABELS = ["app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component"];
const noKustomize = kustomizeCommand() ? false : "no kustomize here (kubectl kustomize or kustomize); per-file checks still run";

const kustomization = (dir) => YAML.parse(read(path.join(dir, "kustomization.yaml")));
const isDir = (p) => fs.existsSync(p) && fs.statSync(p).isDirectory();

// Resource files of a kustomization, recursively through directory resources (bases) and, unless
// told not to, its components (pinned add-on manifests, labelled by their component at build).
function resourceFiles(dir, { components = true } = {}) {
  const out = [];
  for (const r of kustomization(dir).resources || []) {
    const p = path.resolve(dir, r);
    if (isDir(p)) out.push(...resourceFiles(p, { components }));
    else out.push(p);
  }
  if (components) {
    for (const c of kustomization(dir).components || []) {
      const p = path.resolve(dir, c);
      out.push(...resourceFiles(p));
    }
  }
  return out;
}

// Built once; a failed build is reported by its own test and leaves an empty object list.
const builds = {};
const buildErrors = [];
if (!noKustomize) {
  for (const dir of KUSTOMIZATIONS) {
    try {
      builds[rel(dir)] = kustomizeBuild(dir);
    } catch (e) {
      buildErrors.push(e.message);
      builds[rel(dir)] = [];
    }
  }
}
const overlayBuild = (o) => builds[`deploy/k8s/overlays/${o}`];
const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const find = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata.name === name);
// The objects the convention checks run on: built overlays if kustomize exists, else base files.
const subjects = () =>
  noKustomize
    ? { base: resourceFiles(BASE).flatMap((f) => yamlDocs(f)) }
    : Object.fromEntries(OVERLAYS.map((o) => [o, overlayBuild(o)]));

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
    used.add(path.join(dir, "kustomization.yaml"));
    for (const c of kustomization(dir).components || []) used.add(path.resolve(dir, c, "kustomization.yaml"));
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
  assert.deepEqual(buildErrors, []);
  for (const [dir, objs] of Object.entries(builds)) {
    assert.ok(objs.length > 0, `${dir} built nothing`);
    for (const o of objs) {
      const errs = await validate(o);
      assert.deepEqual(errs, [], `${dir} ${o.kind}/${o.metadata?.name}: ${errs.join("; ")}`);
    }
  }
  for (const o of OVERLAYS) {
    const kinds = overlayBuild(o).map((x) => x.kind);
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
  for (const f of new Set(KUSTOMIZATIONS.flatMap((d) => resourceFiles(d, { components: false })))) check(rel(f), yamlDocs(f));
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

test("ServiceAccounts carry the environment's IRSA role, named as Terraform names it", { skip: noKustomize }, () => {
  for (const o of OVERLAYS) {
    const sas = byKind(overlayBuild(o), "ServiceAccount");
    assert.deepEqual(sas.map((s) => s.metadata.name).sort(), [...Object.keys(SERVICES), "fluent-bit"].sort());
    for (const sa of sas) {
      const arn = sa.metadata.annotations?.["eks.amazonaws.com/role-arn"];
      assert.match(arn, new RegExp(`^arn:aws:iam::\\d{12}:role/crest-${o}-${sa.metadata.name}$`), `${o} ${sa.metadata.name}`);
    }
  }
});

test("overlays set their environment's AWS names and generated config", { skip: noKustomize }, () => {
  for (const o of OVERLAYS) {
    const cms = byKind(overlayBuild(o), "ConfigMap");
    const sf = cms.find((c) => c.metadata.name.startsWith("storefront-config-"));
    assert.ok(sf, `${o}: storefront-config not generated with a hash suffix`);
    assert.equal(sf.data.CREST_DYNAMODB_CARTS_TABLE, `crest-${o}-carts`);
    assert.equal(sf.data.CREST_DYNAMODB_SESSIONS_TABLE, `crest-${o}-sessions`);
    assert.match(sf.data.CREST_SQS_ORDERS_QUEUE_URL, new RegExp(`/crest-${o}-orders$`));
    const fb = cms.find((c) => c.metadata.name.startsWith("fluent-bit-env-"));
    assert.equal(fb.metadata.namespace, "logging");
    assert.equal(fb.data.LOG_GROUP_NAME, `/crest/crest-${o}/application`, `${o}: log group must match Terraform's observability module`);
    const img = byKind(overlayBuild(o), "Deployment")[0].spec.template.spec.containers[0].image;
    assert.match(img, /\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/crest\/storefront:/, `${o}: image ${img}`);
    for (const d of byKind(overlayBuild(o), "Deployment")) assert.equal(d.metadata.namespace, "crest");
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
