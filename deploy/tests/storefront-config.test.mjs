// The storefront binary against each overlay's effective configuration: every CREST_* key the
// built ConfigMaps set must name a setting of `storefront --help-config`, and every role's
// Deployment, started with what its pod would get (its args; its envFrom ConfigMaps from
// `kustomize build`; the storefront-secrets keys documented in deploy/README.md, as placeholders
// pointing at local servers; its env), must reach /readyz against local stand-ins: MariaDB with a
// least-privilege application user (created as the README's migration step says), Redis with TLS
// and AUTH (rediss://, as ElastiCache), dynalite with the overlay's tables and fauxqs with the
// overlay's queue and its dead-letter queue.
//
// What differs from a pod, and why (nothing else is overridden; the ConfigMaps are used as built):
// - AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_SQS (the SDKs' endpoint variables, not CREST_
//   keys) point at dynalite and fauxqs: the regional https endpoints need the network and an
//   account. The overlay's queue URL is used unchanged (fauxqs finds a queue by region and name).
// - AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: no IRSA web identity token exists here.
// - CREST_HTTP_ADDRESS=127.0.0.1 and `--port 0`: this machine allows no listening on all
//   interfaces and the roles' fixed ports may be taken; the ConfigMap's values are still parsed.
// - SSL_CERT_FILE: the system CA store is replaced by this run's CA, which signed Redis' certificate.
// Needs CREST_STOREFRONT_BINARY (scripts/test-deploy passes it; CI sets it), mariadbd,
// redis-server, openssl and kubectl; skipped in one line without them.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { DEPLOY, ROOT, kustomizeBuild, kustomizeCommand, read, run, which } from "./lib/repo.mjs";

const BINARY = process.env.CREST_STOREFRONT_BINARY;
const OVERLAYS = ["staging", "production"];
const SECRET_KEYS = ["CREST_DB_PRIMARY_URL", "CREST_DB_REPLICA_URLS", "CREST_REDIS_URL"];
const missingTool = ["mariadbd", "mariadb-install-db", "mariadb", "redis-server", "redis-cli", "openssl"].find((c) => !which(c) && !fs.existsSync(`/usr/sbin/${c}`)) ||
  (!kustomizeCommand() && "kubectl");
const skip = !BINARY ? "CREST_STOREFRONT_BINARY is not set" : missingTool ? `${missingTool} is not installed here` : false;

const overlayObjects = Object.fromEntries(OVERLAYS.map((o) => [o, kustomizeCommand() ? kustomizeBuild(path.join(DEPLOY, "k8s/overlays", o)) : []]));

// Configuration keys of the binary, as CREST_* variable names.
function settingNames() {
  const r = run(BINARY, ["--help-config"]);
  assert.equal(r.status, 0, `storefront --help-config failed:\n${r.stderr}`);
  const names = new Set([...r.stdout.matchAll(/\(env (CREST_[A-Z0-9_]+)\)/g)].map((m) => m[1]));
  assert.ok(names.size > 10, `no keys in storefront --help-config:\n${r.stdout}`);
  return names;
}

test("every CREST_* key of the overlays' ConfigMaps and Deployments is a storefront setting", { skip: !BINARY && "CREST_STOREFRONT_BINARY is not set" }, () => {
  const names = settingNames();
  const problems = [];
  for (const [o, objects] of Object.entries(overlayObjects)) {
    for (const obj of objects) {
      const vars =
        obj.kind === "ConfigMap" ? Object.keys(obj.data || {}).filter((k) => k.startsWith("CREST_")).map((k) => [k, `ConfigMap ${obj.metadata.name}`]) :
        obj.kind === "Deployment" ? (obj.spec.template.spec.containers || []).flatMap((c) => (c.env || []).map((e) => [e.name, `Deployment ${obj.metadata.name} env`])).filter(([k]) => k.startsWith("CREST_")) :
        // The keys External Secrets writes into the Secret the Deployments load.
        obj.kind === "ExternalSecret" ? (obj.spec.data || []).map((d) => [d.secretKey, `ExternalSecret ${obj.metadata.name}`]) : [];
      for (const [k, where] of vars) if (!names.has(k)) problems.push(`${o}: ${where}: ${k} names no storefront setting (see storefront --help-config)`);
    }
  }
  for (const k of SECRET_KEYS) if (!names.has(k)) problems.push(`storefront-secrets key ${k} names no storefront setting`);
  assert.deepEqual(problems, []);
});

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  child.output = "";
  child.stdout.on("data", (d) => (child.output += d));
  child.stderr.on("data", (d) => (child.output += d));
  child.exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  children.push(child);
  return child;
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const done = await Promise.race([child.exited, sleep(15000).then(() => null)]);
  if (!done) child.kill("SIGKILL");
}

async function waitFor(what, check, { child, ms = 20000 } = {}) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`${what}: exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${child.output}`);
    }
    try {
      if (await check()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${ms} ms${child ? `:\n${child.output}` : ""}`);
    await sleep(100);
  }
}

const env = {};
let dir;
let sql;

async function awsJson(url, target, body) {
  const r = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.0",
      "x-amz-target": target,
      "x-amz-date": "20260101T000000Z",
      // dynalite and fauxqs check that a SigV4 header is present, not the signature.
      authorization: "AWS4-HMAC-SHA256 Credential=test/20260101/eu-west-1/x/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${target}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function startStandIns() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "crest-storefront-config-"));
  const [dbPort, redisPort, dynaPort, sqsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);

  // Redis with TLS only and AUTH, its certificate for 127.0.0.1 signed by this run's CA.
  fs.writeFileSync(path.join(dir, "ext"), "subjectAltName=IP:127.0.0.1\n");
  const ssl = run("sh", ["-c",
    "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=crest-test-ca -keyout ca.key -out ca.pem && " +
    "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1 -keyout redis.key -out redis.csr && " +
    "openssl x509 -req -in redis.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext -out redis.crt"], { cwd: dir });
  assert.equal(ssl.status, 0, `openssl:\n${ssl.stderr}`);
  const redisPassword = "redis/auth:token@1";
  const redis = start("redis-server", ["--port", "0", "--tls-port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir,
    "--tls-cert-file", path.join(dir, "redis.crt"), "--tls-key-file", path.join(dir, "redis.key"), "--tls-ca-cert-file", path.join(dir, "ca.pem"),
    "--tls-auth-clients", "no", "--requirepass", redisPassword, "--daemonize", "no"]);
  const redisCli = (...a) => run("redis-cli", ["--tls", "--cacert", path.join(dir, "ca.pem"), "-h", "127.0.0.1", "-p", String(redisPort), "--no-auth-warning", "-a", redisPassword, ...a]);
  env.redisCli = redisCli;

  // MariaDB: the master (as RDS') and the application user with data rights only.
  const data = path.join(dir, "mysql");
  const install = run("mariadb-install-db", ["--no-defaults", "--user=root", `--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"]);
  assert.equal(install.status, 0, `mariadb-install-db:\n${install.stderr}`);
  const socket = path.join(dir, "mysql.sock");
  const mariadbd = fs.existsSync("/usr/sbin/mariadbd") ? "/usr/sbin/mariadbd" : "mariadbd";
  const db = start(mariadbd, ["--no-defaults", "--user=root", `--datadir=${data}`, "--bind-address=127.0.0.1", `--port=${dbPort}`, `--socket=${socket}`, "--skip-name-resolve", "--innodb-buffer-pool-size=32M", "--performance-schema=OFF"]);
  sql = (q) => run("mariadb", ["--no-defaults", `--socket=${socket}`, "-uroot", "-N", "-e", q]);
  await waitFor("mariadbd", () => sql("SELECT 1").status === 0, { child: db, ms: 30000 });
  const master = "master:p@ss/w#rd%";
  const app = "app:p@ss/w?rd%";
  const q = (s) => s.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
  const setup = sql(
    `CREATE DATABASE crest; CREATE USER 'crest_master'@'127.0.0.1' IDENTIFIED BY '${q(master)}'; GRANT ALL ON *.* TO 'crest_master'@'127.0.0.1' WITH GRANT OPTION; ` +
    `CREATE USER 'crest_app'@'127.0.0.1' IDENTIFIED BY '${q(app)}'; GRANT SELECT, INSERT, UPDATE, DELETE ON crest.* TO 'crest_app'@'127.0.0.1';`);
  assert.equal(setup.status, 0, `MariaDB users:\n${setup.stderr}`);
  const url = (user, pw) => `mysql://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@127.0.0.1:${dbPort}/crest`;
  env.masterUrl = url("crest_master", master);
  env.secrets = {
    CREST_DB_PRIMARY_URL: url("crest_app", app),
    // No replica here: the replica URL names the primary (the lag check then keeps reads on it).
    CREST_DB_REPLICA_URLS: url("crest_app", app),
    CREST_REDIS_URL: `rediss://:${encodeURIComponent(redisPassword)}@127.0.0.1:${redisPort}`,
  };

  // dynalite and fauxqs with every overlay's tables and queues.
  const dynalite = start(process.execPath, [path.join(ROOT, "node_modules/dynalite/cli.js"), "--host", "127.0.0.1", "--port", String(dynaPort), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]);
  const fauxqs = start(process.execPath, [path.join(ROOT, "scripts/fauxqs-server.mjs"), String(sqsPort), "eu-west-1"]);
  env.dynamodb = `http://127.0.0.1:${dynaPort}`;
  env.sqs = `http://127.0.0.1:${sqsPort}`;
  await waitFor("Redis", () => redisCli("PING").stdout.trim() === "PONG", { child: redis });
  await waitFor("dynalite", async () => (await awsJson(env.dynamodb, "DynamoDB_20120810.ListTables", {})).TableNames, { child: dynalite });
  await waitFor("fauxqs", () => fauxqs.output.includes("listening"), { child: fauxqs });
  const tables = JSON.parse(read(path.join(DEPLOY, "dynamodb/tables.json"))).tables;
  for (const o of OVERLAYS) {
    const cfg = storefrontConfig(o);
    for (const [id, t] of Object.entries(tables)) {
      const name = cfg[`CREST_DYNAMODB_${id.toUpperCase()}_TABLE`];
      assert.ok(name, `${o}: no table name for ${id} in storefront-config`);
      await awsJson(env.dynamodb, "DynamoDB_20120810.CreateTable", {
        TableName: name, BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: t.hash_key, AttributeType: t.key_type }],
        KeySchema: [{ AttributeName: t.hash_key, KeyType: "HASH" }],
      });
    }
    const queueUrl = cfg.CREST_SQS_ORDERS_QUEUE_URL;
    const region = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\//.exec(queueUrl)?.[1];
    assert.ok(region, `${o}: CREST_SQS_ORDERS_QUEUE_URL is not a regional SQS URL: ${queueUrl}`);
    const name = queueUrl.split("/").pop();
    const dlq = await awsJson(env.sqs, "AmazonSQS.CreateQueue", { QueueName: `${name}-dlq` });
    const dlqArn = (await awsJson(env.sqs, "AmazonSQS.GetQueueAttributes", { QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] })).Attributes.QueueArn;
    await awsJson(env.sqs, "AmazonSQS.CreateQueue", {
      QueueName: name,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: "5" }) },
    });
  }
}

async function stopStandIns() {
  await Promise.all(children.map(stop));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

function configMap(o, name, namespace = "crest") {
  return overlayObjects[o].find((x) => x.kind === "ConfigMap" && x.metadata.namespace === namespace && x.metadata.name === name);
}

function storefrontConfig(o) {
  const cm = configMap(o, "storefront-config") || overlayObjects[o].find((x) => x.kind === "ConfigMap" && x.metadata.name.startsWith("storefront-config"));
  assert.ok(cm, `${o}: no storefront-config ConfigMap`);
  return cm.data;
}

// What the pod's container would see: envFrom in order, then env; fieldRefs as a pod would fill them.
function podEnvironment(o, deployment) {
  const c = deployment.spec.template.spec.containers.find((x) => x.name === "storefront") || deployment.spec.template.spec.containers[0];
  const out = {};
  for (const from of c.envFrom || []) {
    if (from.configMapRef) {
      const cm = configMap(o, from.configMapRef.name, deployment.metadata.namespace);
      assert.ok(cm || from.configMapRef.optional, `${o}: Deployment ${deployment.metadata.name}: ConfigMap ${from.configMapRef.name} is not in the build`);
      Object.assign(out, cm?.data || {});
    } else if (from.secretRef) {
      assert.equal(from.secretRef.name, "storefront-secrets", `${o}: Deployment ${deployment.metadata.name}: unexpected Secret ${from.secretRef.name}`);
      Object.assign(out, env.secrets);
    }
  }
  for (const e of c.env || []) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef) out[e.name] = `${deployment.metadata.name}-0`;
    else assert.fail(`${o}: Deployment ${deployment.metadata.name}: env ${e.name} has a source this test does not know`);
  }
  return { args: c.args || [], env: out };
}

function storefrontEnv(pod) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CREST_") && !k.startsWith("AWS_")));
  return {
    ...base,
    ...pod.env,
    CREST_HTTP_ADDRESS: "127.0.0.1",
    AWS_ENDPOINT_URL_DYNAMODB: env.dynamodb,
    AWS_ENDPOINT_URL_SQS: env.sqs,
    AWS_ACCESS_KEY_ID: "AKIDLOCALSTANDIN",
    AWS_SECRET_ACCESS_KEY: "local-stand-in",
    SSL_CERT_FILE: path.join(dir, "ca.pem"),
  };
}

async function startRole(label, pod, extraEnv = {}) {
  const portFile = path.join(dir, `${label.replace(/\W+/g, "-")}.port`);
  const child = start(BINARY, [...pod.args, "--port", "0", "--port-file", portFile], { env: { ...storefrontEnv(pod), ...extraEnv } });
  let port;
  await waitFor(label, async () => {
    if (!port) port = Number(fs.readFileSync(portFile, "utf8").trim()) || undefined;
    return port && (await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
  }, { child, ms: 30000 });
  return { child, port };
}

describe("the storefront binary with each overlay's configuration", { skip }, () => {
before(startStandIns, { timeout: 120000 });
after(stopStandIns);
for (const o of OVERLAYS) {
  test(`${o}: every role starts with the overlay's configuration and reaches /readyz`, { skip, timeout: 180000 }, async (t) => {
    const deployments = overlayObjects[o].filter((x) => x.kind === "Deployment" && x.metadata.namespace === "crest" &&
      x.spec.template.spec.containers.some((c) => /\/crest\/storefront[:@]/.test(c.image) || /^crest\/storefront[:@]/.test(c.image)));
    assert.ok(deployments.length >= 5, `${o}: expected the five storefront roles, found ${deployments.map((d) => d.metadata.name)}`);

    // The README's migration step: the schema applied once with the master's URL.
    const migrate = podEnvironment(o, deployments[0]);
    const migration = await startRole(`${o} migration`, migrate, { CREST_DB_PRIMARY_URL: env.masterUrl, CREST_DB_REPLICA_URLS: env.masterUrl, CREST_DB_APPLY_SCHEMA: "true" });
    await stop(migration.child);

    const started = await Promise.all(deployments.map(async (d) => {
      const pod = podEnvironment(o, d);
      const label = `${o} ${d.metadata.name} (${pod.args.join(" ")})`;
      const r = await startRole(label, pod);
      return { d, pod, label, ...r };
    }));
    try {
      for (const s of started) {
        assert.doesNotMatch(s.child.output, /names no configuration key/, `${s.label}: the binary ignored a variable:\n${s.child.output}`);
        t.diagnostic(`${s.label}: ready on 127.0.0.1:${s.port}`);
      }
      // The catalogue goes through Redis over TLS with AUTH: a list request leaves a key there.
      const catalog = started.find((s) => s.pod.args.includes("catalog"));
      assert.ok(catalog, `${o}: no catalog role`);
      const before = Number(env.redisCli("DBSIZE").stdout.trim());
      const r = await fetch(`http://127.0.0.1:${catalog.port}/api/categories`);
      assert.equal(r.status, 200, `${o}: GET /api/categories: ${r.status} ${await r.text()}`);
      await fetch(`http://127.0.0.1:${catalog.port}/api/products`);
      await waitFor(`${o}: catalogue cached in Redis`, () => Number(env.redisCli("DBSIZE").stdout.trim()) > before, { ms: 5000 });
    } finally {
      await Promise.all(started.map((s) => stop(s.child)));
      env.redisCli("FLUSHALL");
    }
  });
}
});
