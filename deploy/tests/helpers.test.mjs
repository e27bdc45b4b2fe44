// The checkers themselves must be able to fail: each gets inputs it has to reject.
import { test } from "node:test";
import assert from "node:assert/strict";
import { metricNames, variableMetricNames } from "./lib/promql.mjs";
import { findSecrets } from "./lib/secrets.mjs";
import { durationSeconds } from "./lib/repo.mjs";
import { resolve, exposedFamilies } from "./lib/metrics.mjs";
import { validate } from "./lib/k8s-schema.mjs";

test("metricNames finds metrics and ignores functions, labels, ranges, variables, numbers", () => {
  const e =
    'histogram_quantile(0.99, sum by (service, le) (rate(http_server_request_duration_seconds_bucket{service=~"$service", x="a{b}"}[$__rate_interval]))) ' +
    "/ on (service) group_left max(up offset 5m) > 1e3 and ignoring(le) crest_outbox_pending[5m:30s]";
  assert.deepEqual([...metricNames(e)].sort(), ["crest_outbox_pending", "http_server_request_duration_seconds_bucket", "up"]);
  assert.deepEqual([...metricNames("sum(rate(foo_total[1m])) by (job) * 100")], ["foo_total"]);
  assert.deepEqual([...metricNames('topk(10, sum by (digest_text) (rate(mysql_perf_schema_events_statements_seconds_total[$__rate_interval])))')],
    ["mysql_perf_schema_events_statements_seconds_total"]);
});

test("variableMetricNames reads label_values(metric, label)", () => {
  assert.deepEqual([...variableMetricNames("label_values(http_server_active_requests{a=\"b\"}, service)")], ["http_server_active_requests"]);
  assert.deepEqual([...variableMetricNames({ query: "label_values(service)" })], []);
});

test("resolve accepts known names and rejects unknown or misused ones", () => {
  const known = new Map([
    ["h_seconds", { name: "h_seconds", type: "histogram" }],
    ["g", { name: "g", type: "gauge" }],
  ]);
  const ex = new Map([["mysql_up", "mysqld_exporter"]]);
  assert.equal(resolve("h_seconds_bucket", known, ex).ok, true);
  assert.equal(resolve("h_seconds", known, ex).ok, false);
  assert.equal(resolve("g_bucket", known, ex).ok, false);
  assert.equal(resolve("g", known, ex).ok, true);
  assert.equal(resolve("mysql_up", known, ex).ok, true);
  assert.match(resolve("mysql_made_up", known, ex).why, /allowlist/);
  assert.match(resolve("nope_total", known, ex).why, /known-metrics/);
});

test("exposedFamilies folds histogram series into their family", () => {
  const f = exposedFamilies(
    "# HELP a_seconds x\n# TYPE a_seconds histogram\na_seconds_bucket{le=\"1\"} 1\na_seconds_sum 1\na_seconds_count 1\nb_total 3\n",
  );
  assert.deepEqual([...f.keys()].sort(), ["a_seconds", "b_total"]);
  assert.equal(f.get("a_seconds"), "histogram");
});

test("findSecrets flags literals and ignores references", () => {
  const bad = [
    'password = "hunter2hunter2"',
    "  auth_token: s3cr3t-value",
    'DB_URL="mysql://app:pa55word@db:3306/crest"',
    "key = AKIAABCDEFGHIJKLMNOP",
    'client_secret = "abcd1234"',
    'secretsmanager_token: "abcd1234"',
    "  secret_key: wJalrXUtnFEMIK7MDENG",
  ];
  for (const b of bad) assert.ok(findSecrets(b).length > 0, `should flag: ${b}`);
  const good = [
    "auth_token = random_password.auth.result",
    'password = "${var.db_password}"',
    "manage_master_user_password = true",
    'Action = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]',
    '"CREST_DB_PRIMARY_URL": "mysql://crest_app:${APP_PASSWORD}@db:3306/crest"',
    "  - secretRef:",
    "    name: storefront-secrets",
    '  secret_id     = aws_secretsmanager_secret.auth.id',
    "# password = \"in a comment\"",
    "mysql://$(DB_USER):$(DB_PASSWORD)@db/crest",
    "          secretName: aws-load-balancer-tls",
    "    - secretKey: CREST_DB_PRIMARY_URL",
    "image: ghcr.io/external-secrets/external-secrets:v2.9.0",
  ];
  for (const g of good) assert.deepEqual(findSecrets(g), [], `should pass: ${g}`);
});

test("durationSeconds parses the config's durations", () => {
  assert.equal(durationSeconds("10s"), 10);
  assert.equal(durationSeconds("1m30s"), 90);
  assert.equal(durationSeconds("500ms"), 0.5);
  assert.throws(() => durationSeconds("10"));
  assert.throws(() => durationSeconds("ten seconds"));
});

test("the Kubernetes schema validator rejects wrong objects", async () => {
  const ok = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" }, data: { k: "v" } };
  assert.deepEqual(await validate(ok), []);
  assert.notDeepEqual(await validate({ ...ok, data: { k: 1 } }), []);
  assert.notDeepEqual(await validate({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "a" }, spec: { template: {} } }), []);
  assert.notDeepEqual(await validate({ apiVersion: "autoscaling/v9", kind: "HorizontalPodAutoscaler" }), []);
  // Strict: misspelt or misplaced fields at any depth are errors.
  assert.match((await validate({ ...ok, metadata: { ...ok.metadata, annotaions: {} } })).join(), /metadata\.annotaions: unknown field/);
  const ingress = (a) => ({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "i", annotations: a }, spec: {} });
  assert.deepEqual(await validate(ingress({ "alb.ingress.kubernetes.io/target-type": "ip", "alb.ingress.kubernetes.io/target-group-attributes": "stickiness.enabled=true,stickiness.type=lb_cookie" })), []);
  assert.match((await validate(ingress({ "alb.ingress.kubernetes.io/target-type": "pod" }))).join(), /target-type: "pod" is not one of instance, ip/);
  assert.match((await validate(ingress({ "alb.ingress.kubernetes.io/target-group-attributes": "stickiness.type=cookie" }))).join(), /stickiness.type/);
  assert.match((await validate(ingress({ "alb.ingress.kubernetes.io/helthcheck-path": "/readyz" }))).join(), /not an annotation/);
  assert.match((await validate({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i", readinessProbe: { httpGet: { path: "/readyz", port: 8081, sheme: "HTTP" } } }] } })).join(), /httpGet\.sheme: unknown field/);
  assert.notDeepEqual(
    await validate({
      apiVersion: "autoscaling/v2", kind: "HorizontalPodAutoscaler", metadata: { name: "a" },
      spec: { scaleTargetRef: { kind: "Deployment", name: "a" }, maxReplicas: "ten" },
    }),
    [],
  );
  // Custom resources against their pinned CRD, strictly; unknown kinds are errors.
  const es = (spec, metadata = { name: "e", namespace: "crest" }) => ({ apiVersion: "external-secrets.io/v1", kind: "ExternalSecret", metadata, spec });
  const good = { secretStoreRef: { kind: "SecretStore", name: "s" }, target: { name: "t" }, data: [{ secretKey: "K", remoteRef: { key: "k", property: "K" } }] };
  assert.deepEqual(await validate(es(good)), []);
  assert.match((await validate(es({ ...good, refreshIntervall: "1h" }))).join(), /spec\.refreshIntervall: unknown field/);
  assert.match((await validate(es({ ...good, data: [{ secretKey: "K", remoteRef: { key: "k", proprety: "K" } }] }))).join(), /remoteRef\.proprety: unknown field/);
  assert.match((await validate(es({ ...good, secretStoreRef: { kind: "Vault", name: "s" } }))).join(), /allowed values/);
  assert.match((await validate(es(good, { name: "e", lables: {} }))).join(), /metadata\.lables: unknown field/);
  assert.match((await validate({ apiVersion: "external-secrets.io/v2", kind: "ExternalSecret", metadata: { name: "e" } })).join(), /no pinned CRD/);
});

test("the AWS-call analysis follows each role to the adapter calls it makes, and no further", async () => {
  const { functionsOf, roleAwsCalls } = await import("./lib/aws-calls.mjs");
  const fns = functionsOf(`namespace a { namespace {
int helper(int x) { if (x) { return 1; } return 2; }
}  // namespace
Result<void> Foo::bar(const std::string& s) const { auto f = [&] { return helper(1); }; return f(); }
}`);
  assert.deepEqual(fns.map((f) => f.qualified), ["helper", "Foo::bar"]);
  assert.match(fns[1].body, /helper\(1\)/);

  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crest-aws-calls-"));
  try {
    const app = path.join(dir, "app");
    const store = path.join(dir, "store");
    fs.mkdirSync(app);
    fs.mkdirSync(store);
    fs.writeFileSync(path.join(app, "app.cpp"), `int serve() {
  if (all || role == "users") add_users_routes(router, shop);
  if (all || role == "worker") { worker = std::make_unique<OrderWorker>(shop); }
}`);
    fs.writeFileSync(path.join(app, "users_service.cpp"), `void add_users_routes(Router& r, Shop& shop) {
  r.add([&] { auto id = require_user(*shop.stores.sessions, req); shop.stores.sessions->put(s); start(); });
}
std::int64_t require_user(store::SessionStore& sessions, Request& r) { return sessions.get(t).value(); }`);
    // start() is defined twice: a users route calling start() must not pull in OrderWorker::start.
    fs.writeFileSync(path.join(app, "background_workers.cpp"), `void OrderWorker::start() { consume(); }
void OrderWorker::consume() { auto& queue = *shop_.stores.orders_queue; queue.receive(o); }
void OrderWorker::sample() {
  const std::pair<const char*, store::Queue*> queues[] = {{"orders", shop_.stores.orders_queue}, {"orders_dlq", shop_.stores.orders_dlq}};
  for (auto [n, queue] : queues) queue->attributes();
}
void OutboxRelay::start() { shop_.stores.orders_queue->send_batch(b); }`);
    fs.writeFileSync(path.join(store, "dynamodb_session_store.cpp"), `Result<void> DynamoDbSessionStore::put(const Session& s) { return client_->put_item(r); }
Result<Session> DynamoDbSessionStore::get(std::string_view t) { return client_->get_item(r); }
Result<void> DynamoDbSessionStore::erase(std::string_view t) { return client_->delete_item(r); }`);
    fs.writeFileSync(path.join(store, "dynamodb_cart_store.cpp"), "Result<Cart> DynamoDbCartStore::get(int u) { return client_->get_item(r); }");
    fs.writeFileSync(path.join(store, "queue.cpp"), "Result<void> Queue::send_batch(const std::vector<std::string>& b) { return send_messages(m); }\nResult<void> Queue::send(std::string b) { return send_messages(m); }");
    fs.writeFileSync(path.join(store, "sqs_queue.cpp"), `Result<void> SqsQueue::send_messages(const M& m) { return client_->client().call("SendMessageBatch", x); }
Result<R> SqsQueue::receive(const O& o) { return client_->client().call("ReceiveMessage", x); }
Result<A> SqsQueue::attributes() { auto a = client_->get_queue_attributes(u); inspect(); return a; }
void SqsQueue::inspect() { inspection_->send(r); }`);
    const calls = roleAwsCalls({ appDir: app, storeDir: store });
    const flat = (m) => [...m].map(([a, r]) => `${a}@${[...r].sort().join("|")}`).sort();
    assert.deepEqual(flat(calls.users), ["dynamodb:GetItem@dynamodb:sessions", "dynamodb:PutItem@dynamodb:sessions"]);
    assert.deepEqual(flat(calls.worker), ["sqs:GetQueueAttributes@sqs:dlq|sqs:queue", "sqs:ReceiveMessage@sqs:queue"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
