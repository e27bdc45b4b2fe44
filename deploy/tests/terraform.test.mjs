// Terraform, offline: `terraform fmt`, then every module and environment parsed from HCL to JSON
// (@cdktf/hcl2json) and checked for the properties the scaling strategy depends on, and for the
// references `terraform validate` would resolve (it needs provider plugins, unavailable here).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { DEPLOY, read, rel, run, which } from "./lib/repo.mjs";
import { loadDir, parseFile, resources, references, first } from "./lib/terraform.mjs";

const TF = path.join(DEPLOY, "terraform");
const MODULES = ["network", "eks", "rds", "dynamodb", "elasticache", "sqs", "observability", "asg"];
const ENVS = ["staging", "production"];

const mods = Object.fromEntries(await Promise.all(MODULES.map(async (m) => [m, await loadDir(path.join(TF, "modules", m))])));
const envs = Object.fromEntries(await Promise.all(ENVS.map(async (e) => [e, await loadDir(path.join(TF, "envs", e))])));
const tfvars = Object.fromEntries(await Promise.all(ENVS.map(async (e) => [e, await parseFile(path.join(TF, "envs", e, "terraform.tfvars"))])));
const all = { ...Object.fromEntries(Object.entries(mods).map(([k, v]) => [`modules/${k}`, v])), ...Object.fromEntries(Object.entries(envs).map(([k, v]) => [`envs/${k}`, v])) };

test("terraform fmt -check -recursive", { skip: which("terraform") ? false : "terraform is not installed here" }, () => {
  const r = run("terraform", ["fmt", "-check", "-recursive", "-diff", TF]);
  assert.equal(r.status, 0, `terraform fmt found unformatted files:\n${r.stdout}${r.stderr}`);
});

test("no module directory is left out of the checks", () => {
  const dirs = fs.readdirSync(path.join(TF, "modules")).sort();
  assert.deepEqual(dirs, [...MODULES].sort());
});

test("every module has main.tf, variables.tf, outputs.tf and a README naming its inputs and outputs", () => {
  for (const [m, mod] of Object.entries(mods)) {
    for (const f of ["main.tf", "variables.tf", "outputs.tf", "README.md"]) {
      assert.ok(fs.existsSync(path.join(mod.dir, f)), `modules/${m}/${f} missing`);
    }
    const readme = read(path.join(mod.dir, "README.md"));
    for (const name of [...Object.keys(mod.config.variable || {}), ...Object.keys(mod.config.output || {})]) {
      assert.ok(readme.includes(`\`${name}\``), `modules/${m}/README.md does not mention \`${name}\``);
    }
  }
});

test("every variable has a description and a type; every output a description", () => {
  for (const [where, { config }] of Object.entries(all)) {
    for (const [name, blocks] of Object.entries(config.variable || {})) {
      const v = first(blocks);
      assert.ok(typeof v.description === "string" && v.description.trim().length >= 10, `${where}: variable ${name} has no description`);
      assert.ok(v.type, `${where}: variable ${name} has no type`);
    }
    for (const [name, blocks] of Object.entries(config.output || {})) {
      assert.ok(first(blocks).description?.trim(), `${where}: output ${name} has no description`);
    }
  }
});

test("every var.X and local.X reference is declared (what terraform validate would catch)", () => {
  for (const [where, { config, text }] of Object.entries(all)) {
    const vars = new Set(Object.keys(config.variable || {}));
    for (const v of references(text, "var")) assert.ok(vars.has(v), `${where}: var.${v} is not declared`);
    const locals = new Set(Object.keys(config.locals || {}));
    for (const l of references(text, "local")) assert.ok(locals.has(l), `${where}: local.${l} is not declared`);
  }
});

test("environments: module sources exist, arguments match module variables, outputs used exist", () => {
  for (const [env, { config, text }] of Object.entries(envs)) {
    const calls = config.module || {};
    assert.deepEqual(Object.values(calls).map((b) => path.basename(first(b).source)).sort(), [...MODULES].sort(), `${env} must compose every module`);
    for (const [name, blocks] of Object.entries(calls)) {
      const call = first(blocks);
      const modName = path.basename(call.source);
      const mod = mods[modName];
      assert.ok(mod && path.resolve(path.join(TF, "envs", env), call.source) === mod.dir, `${env}: module ${name} source ${call.source} is not a module here`);
      const declared = mod.config.variable || {};
      for (const arg of Object.keys(call)) {
        if (["source", "version", "count", "for_each", "providers", "depends_on"].includes(arg)) continue;
        assert.ok(declared[arg], `${env}: module ${name} passes ${arg}, which modules/${modName} does not declare`);
      }
      for (const [v, b] of Object.entries(declared)) {
        if (!("default" in first(b))) assert.ok(v in call, `${env}: module ${name} does not set required variable ${v}`);
      }
    }
    const code = text.replace(/^\s*#.*$/gm, "");
    for (const m of code.matchAll(/module\.([a-z0-9_]+)\.([a-z0-9_]+)/g)) {
      const call = calls[m[1]];
      assert.ok(call, `${env}: module.${m[1]} is not declared`);
      const outs = mods[path.basename(first(call).source)].config.output || {};
      assert.ok(outs[m[2]], `${env}: module.${m[1]}.${m[2]} is not an output of that module`);
    }
  }
});

test("staging mirrors production: same code, different terraform.tfvars only", () => {
  for (const f of ["main.tf", "variables.tf", "outputs.tf", "versions.tf"]) {
    assert.equal(read(path.join(TF, "envs/staging", f)), read(path.join(TF, "envs/production", f)), `envs/*/${f} differ`);
  }
  for (const env of ENVS) {
    const vars = envs[env].config.variable;
    for (const k of Object.keys(tfvars[env])) assert.ok(vars[k], `${env}/terraform.tfvars sets undeclared ${k}`);
    for (const [k, b] of Object.entries(vars)) {
      if (!("default" in first(b))) assert.ok(k in tfvars[env], `${env}/terraform.tfvars does not set required ${k}`);
    }
    assert.equal(tfvars[env].environment, env);
  }
});

test("network spans three availability zones", () => {
  const v = first(mods.network.config.variable.az_count);
  assert.equal(v.default, 3);
  assert.match(JSON.stringify(v.validation), />= 3/);
  for (const env of ENVS) assert.equal(first(envs[env].config.module.network).az_count, 3);
  assert.equal(resources(mods.network.config, "aws_subnet").length, 2);
  assert.equal(first(mods.network.config.resource.aws_subnet.private).count, "${var.az_count}");
});

test("eks: managed node groups with min/max, OIDC provider, Cluster Autoscaler and LB Controller IRSA roles", () => {
  const c = mods.eks.config;
  const ng = first(c.resource.aws_eks_node_group.this);
  const sc = first(ng.scaling_config);
  assert.ok(sc.min_size && sc.max_size, "node group scaling_config needs min_size and max_size");
  assert.ok(c.resource.aws_iam_openid_connect_provider, "IRSA needs an OIDC provider");
  const irsa = JSON.stringify(c.locals.irsa_roles);
  for (const role of ["cluster-autoscaler", "aws-load-balancer-controller", "fluent-bit"]) assert.ok(irsa.includes(role), `missing IRSA role ${role}`);
  assert.match(mods.eks.text, /autoscaling:SetDesiredCapacity/);
  JSON.parse(read(path.join(mods.eks.dir, "aws-load-balancer-controller-policy.json")));
  for (const env of ENVS) {
    for (const [name, g] of Object.entries(tfvars[env].node_groups)) {
      assert.ok(g.min_size >= 1 && g.max_size > g.min_size, `${env}: node group ${name} needs 1 <= min < max`);
    }
  }
});

test("rds: at least one read replica, Performance Insights and slow query log on every instance", () => {
  const c = mods.rds.config;
  const dbs = resources(c, "aws_db_instance");
  assert.deepEqual(dbs.map((d) => d.name).sort(), ["primary", "replica"]);
  for (const { name, body } of dbs) {
    assert.equal(body.performance_insights_enabled, true, `${name}: Performance Insights off`);
    assert.equal(body.storage_encrypted, true, `${name}: storage not encrypted`);
    assert.ok(/slowquery/.test(JSON.stringify(body.enabled_cloudwatch_logs_exports) + JSON.stringify(c.locals.log_exports)), `${name}: slow query log not exported`);
    assert.equal(body.enabled_cloudwatch_logs_exports, "${local.log_exports}");
  }
  assert.ok(c.locals.log_exports.includes("slowquery"));
  const replica = first(c.resource.aws_db_instance.replica);
  assert.equal(replica.count, "${var.replica_count}");
  assert.match(replica.replicate_source_db, /aws_db_instance\.primary/);
  assert.match(JSON.stringify(first(c.variable.replica_count).validation), /replica_count >= 1/);
  const primary = first(c.resource.aws_db_instance.primary);
  assert.equal(primary.manage_master_user_password, true, "master password must be managed by RDS");
  assert.equal(primary.password, undefined);
  const params = Object.fromEntries(first(c.resource.aws_db_parameter_group.this).parameter.map((p) => [p.name, p.value]));
  assert.equal(params.slow_query_log, "1");
  assert.ok(params.long_query_time, "parameter group needs long_query_time");
  for (const env of ENVS) assert.ok(tfvars[env].db_replica_count >= 1, `${env}: db_replica_count < 1`);
});

test("dynamodb: carts and sessions on demand (PAY_PER_REQUEST), TTL on sessions, PITR on", () => {
  const tables = resources(mods.dynamodb.config, "aws_dynamodb_table");
  assert.deepEqual(tables.map((t) => t.name).sort(), ["carts", "sessions"]);
  for (const { name, body } of tables) {
    assert.equal(body.billing_mode, "PAY_PER_REQUEST", `${name} is not on-demand`);
    assert.equal(first(body.point_in_time_recovery).enabled, true, `${name}: PITR off`);
    assert.equal(first(body.server_side_encryption).enabled, true, `${name}: SSE off`);
  }
  const ttl = first(first(mods.dynamodb.config.resource.aws_dynamodb_table.sessions).ttl);
  assert.equal(ttl.enabled, true);
  assert.ok(ttl.attribute_name);
});

test("elasticache: Multi-AZ replication group with automatic failover and encryption", () => {
  const rg = first(mods.elasticache.config.resource.aws_elasticache_replication_group.this);
  assert.equal(rg.automatic_failover_enabled, true);
  assert.equal(rg.multi_az_enabled, true);
  assert.equal(rg.transit_encryption_enabled, true);
  assert.equal(rg.at_rest_encryption_enabled, true);
  assert.match(rg.auth_token, /random_password/);
  for (const env of ENVS) assert.ok(tfvars[env].redis_num_cache_clusters >= 2);
});

test("sqs: orders queue redrives to a DLQ, long-polls, is encrypted", () => {
  const c = mods.sqs.config;
  const q = first(c.resource.aws_sqs_queue.this);
  assert.ok(q.redrive_policy, "orders queue has no redrive policy");
  assert.match(q.redrive_policy, /deadLetterTargetArn\s*=\s*aws_sqs_queue\.dlq\.arn/);
  assert.match(q.redrive_policy, /maxReceiveCount/);
  assert.equal(q.receive_wait_time_seconds, "${var.receive_wait_time_seconds}");
  assert.ok(first(c.variable.receive_wait_time_seconds).default >= 1, "long polling off");
  for (const { name, body } of resources(c, "aws_sqs_queue")) assert.equal(body.sqs_managed_sse_enabled, true, `${name} not encrypted`);
  assert.ok(c.resource.aws_sqs_queue_redrive_allow_policy);
});

test("observability: the listed alarms exist and all notify the SNS topic", () => {
  const c = mods.observability.config;
  assert.ok(c.resource.aws_sns_topic?.alarms, "no SNS topic");
  const alarms = Object.fromEntries(resources(c, "aws_cloudwatch_metric_alarm").map((a) => [a.name, a.body]));
  for (const name of ["p99_latency", "http_5xx_rate", "replica_lag", "queue_oldest_message_age", "dlq_depth", "dynamodb_throttles"]) {
    assert.ok(alarms[name], `alarm ${name} missing`);
  }
  for (const [name, a] of Object.entries(alarms)) {
    assert.ok(a.alarm_actions === "${local.actions}" && c.locals.actions.includes("${aws_sns_topic.alarms.arn}"), `${name} does not notify the topic`);
  }
  assert.equal(alarms.p99_latency.extended_statistic, "p99");
  assert.equal(alarms.replica_lag.metric_name, "ReplicaLag");
  assert.equal(alarms.queue_oldest_message_age.metric_name, "ApproximateAgeOfOldestMessage");
  assert.equal(alarms.dlq_depth.dimensions.QueueName, "${var.dlq_name}");
  assert.match(JSON.stringify(alarms.dynamodb_throttles.metric_query), /ThrottleEvents/);
});

test("asg: target tracking, ALB target group with cookie stickiness and /readyz health check", () => {
  const c = mods.asg.config;
  const tg = first(c.resource.aws_lb_target_group.this);
  const st = first(tg.stickiness);
  assert.equal(st.enabled, true, "stickiness off");
  assert.equal(st.type, "lb_cookie");
  assert.equal(first(tg.health_check).path, "/readyz");
  const policies = resources(c, "aws_autoscaling_policy");
  assert.ok(policies.length >= 1);
  for (const p of policies) assert.equal(p.body.policy_type, "TargetTrackingScaling");
  assert.ok(first(c.variable.deregistration_delay_seconds).default > first(c.variable.drain_grace_seconds).default,
    "the ALB must keep draining longer than the process's drain grace");
  const lt = first(c.resource.aws_launch_template.this);
  assert.equal(first(lt.metadata_options).http_tokens, "required", "IMDSv2 only");
});

test("workload IRSA roles match the Kubernetes ServiceAccounts", () => {
  const main = read(path.join(TF, "envs/production/main.tf"));
  const keys = [...main.matchAll(/^    (\w+) = \{$/gm)].map((m) => m[1]);
  assert.deepEqual(keys.sort(), ["cart", "catalog", "orders", "users", "worker"]);
  for (const k of keys) assert.ok(fs.existsSync(path.join(DEPLOY, "k8s/base", k, "serviceaccount.yaml")), `no ServiceAccount for ${k}`);
});

test("every .tf file under deploy/terraform parses", async () => {
  const files = [];
  const walkTf = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walkTf(p);
      else if (/\.(tf|tfvars)$/.test(e.name)) files.push(p);
    }
  };
  walkTf(TF);
  assert.ok(files.length > 30);
  for (const f of files) await assert.doesNotReject(parseFile(f), rel(f));
});
