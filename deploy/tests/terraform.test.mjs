// Terraform, offline: `terraform fmt`, `terraform validate` and `terraform test` (a mocked-AWS plan
// and apply per environment, tests/plan.tftest.hcl) with hashicorp/aws from a local filesystem
// mirror (lib/terraform-cli.mjs), then every module and the root parsed from HCL to JSON
// (@cdktf/hcl2json) and checked for the properties the scaling strategy depends on.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { DEPLOY, read, rel, run, which } from "./lib/repo.mjs";
import { loadDir, parseFile, resources, references, first } from "./lib/terraform.mjs";
import { terraformCli } from "./lib/terraform-cli.mjs";
import { roleAwsCalls } from "./lib/aws-calls.mjs";

const TF = path.join(DEPLOY, "terraform");
const MODULES = ["network", "eks", "rds", "dynamodb", "elasticache", "sqs", "observability", "asg"];
const ENVS = ["staging", "production"];

const mods = Object.fromEntries(await Promise.all(MODULES.map(async (m) => [m, await loadDir(path.join(TF, "modules", m))])));
const root = await loadDir(TF);
const tfvars = Object.fromEntries(await Promise.all(ENVS.map(async (e) => [e, await parseFile(path.join(TF, "envs", `${e}.tfvars`))])));
const all = { ...Object.fromEntries(Object.entries(mods).map(([k, v]) => [`modules/${k}`, v])), root };

// terraform validate and terraform test (mock_provider "aws") per environment, offline. Without
// terraform on the machine this is one skipped test saying why; everything else still runs.
const cli = terraformCli(TF);
test("terraform validate, and terraform test (mocked AWS plan + apply) for every environment", { skip: cli.skip }, async (t) => {
  const init = cli.init();
  assert.equal(init.status, 0, `terraform init (filesystem mirror ${cli.mirror}) failed:\n${init.stdout}${init.stderr}`);
  const validate = cli.run(["validate", "-no-color"]);
  assert.equal(validate.status, 0, `terraform validate:\n${validate.stdout}${validate.stderr}`);
  for (const env of ENVS) {
    await t.test(env, () => {
      const r = cli.run(["test", "-no-color", `-var-file=envs/${env}.tfvars`]);
      assert.equal(r.status, 0, `terraform test -var-file=envs/${env}.tfvars:\n${r.stdout}${r.stderr}`);
    });
  }
});

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

test("root module: module sources exist, arguments match module variables, outputs used exist", () => {
  const { config, text } = root;
  const calls = config.module || {};
  assert.deepEqual(Object.values(calls).map((b) => path.basename(first(b).source)).sort(), [...MODULES].sort(), "the root must compose every module");
  for (const [name, blocks] of Object.entries(calls)) {
    const call = first(blocks);
    const modName = path.basename(call.source);
    const mod = mods[modName];
    assert.ok(mod && path.resolve(TF, call.source) === mod.dir, `module ${name} source ${call.source} is not a module here`);
    const declared = mod.config.variable || {};
    for (const arg of Object.keys(call)) {
      if (["source", "version", "count", "for_each", "providers", "depends_on"].includes(arg)) continue;
      assert.ok(declared[arg], `module ${name} passes ${arg}, which modules/${modName} does not declare`);
    }
    for (const [v, b] of Object.entries(declared)) {
      if (!("default" in first(b))) assert.ok(v in call, `module ${name} does not set required variable ${v}`);
    }
  }
  const code = text.replace(/^\s*#.*$/gm, "");
  for (const m of code.matchAll(/module\.([a-z0-9_]+)\.([a-z0-9_]+)/g)) {
    const call = calls[m[1]];
    assert.ok(call, `module.${m[1]} is not declared`);
    const outs = mods[path.basename(first(call).source)].config.output || {};
    assert.ok(outs[m[2]], `module.${m[1]}.${m[2]} is not an output of that module`);
  }
});

test("one root module for every environment: envs/<env>.tfvars set every required variable, nothing undeclared", () => {
  assert.deepEqual(fs.readdirSync(path.join(TF, "envs")).filter((f) => f.endsWith(".tfvars")).sort(), ENVS.map((e) => `${e}.tfvars`).sort());
  assert.ok(!fs.readdirSync(path.join(TF, "envs")).some((f) => f.endsWith(".tf")), "no per-environment copies of the code");
  for (const env of ENVS) {
    const vars = root.config.variable;
    for (const k of Object.keys(tfvars[env])) assert.ok(vars[k], `envs/${env}.tfvars sets undeclared ${k}`);
    for (const [k, b] of Object.entries(vars)) {
      if (!("default" in first(b))) assert.ok(k in tfvars[env], `envs/${env}.tfvars does not set required ${k}`);
    }
    assert.equal(tfvars[env].environment, env);
  }
});

test("network spans three availability zones", () => {
  const v = first(mods.network.config.variable.az_count);
  assert.equal(v.default, 3);
  assert.match(JSON.stringify(v.validation), />= 3/);
  assert.equal(first(root.config.module.network).az_count, 3);
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
  for (const role of ["cluster-autoscaler", "aws-load-balancer-controller", "fluent-bit", "storefront-secrets"]) assert.ok(irsa.includes(role), `missing IRSA role ${role}`);
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

test("dynamodb: one table per entry of dynamodb/tables.json, on demand (PAY_PER_REQUEST), TTL from the file, PITR and SSE on", () => {
  const tables = resources(mods.dynamodb.config, "aws_dynamodb_table");
  assert.deepEqual(tables.map((t) => t.name), ["this"], "tables must come from the definitions file (for_each), not be written out");
  const body = tables[0].body;
  assert.match(body.for_each, /local\.table_definitions/);
  assert.match(body.hash_key, /each\.value\.hash_key/);
  assert.equal(body.billing_mode, "PAY_PER_REQUEST", "tables are not on-demand");
  assert.equal(first(body.point_in_time_recovery).enabled, true, "PITR off");
  assert.equal(first(body.server_side_encryption).enabled, true, "SSE off");
  assert.ok(body.dynamic?.ttl, "no TTL block");
  const defs = JSON.parse(read(path.join(DEPLOY, "dynamodb", "tables.json"))).tables;
  assert.deepEqual(Object.keys(defs).sort(), ["carts", "sessions"]);
  assert.equal(defs.sessions.ttl_attribute, "expires_at", "sessions must expire by TTL on expires_at");
});

test("elasticache: Multi-AZ replication group with automatic failover and encryption", () => {
  const rg = first(mods.elasticache.config.resource.aws_elasticache_replication_group.this);
  assert.equal(rg.automatic_failover_enabled, true);
  assert.equal(rg.multi_az_enabled, true);
  assert.equal(rg.transit_encryption_enabled, true);
  assert.equal(rg.at_rest_encryption_enabled, true);
  assert.match(rg.auth_token, /aws_secretsmanager_secret_version\.auth\.secret_string/, "the AUTH token comes from the secret");
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
  const main = read(path.join(TF, "main.tf"));
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
      else if (/\.(tf|tfvars|tftest\.hcl)$/.test(e.name)) files.push(p);
    }
  };
  walkTf(TF);
  assert.ok(files.length >= 30, `only ${files.length} Terraform files found`);
  for (const f of files) await assert.doesNotReject(parseFile(f), rel(f));
});

// The resource each workload-policy ARN expression names, in lib/aws-calls.mjs's vocabulary.
const POLICY_RESOURCES = {
  "${module.dynamodb.table_arns.sessions}": "dynamodb:sessions",
  "${module.dynamodb.table_arns.carts}": "dynamodb:carts",
  "${module.sqs.queue_arn}": "sqs:queue",
  "${module.sqs.dlq_arn}": "sqs:dlq",
};

// "action on resource" pairs a workload policy allows.
function allowedPairs(policy, where) {
  const pairs = new Set();
  for (const st of policy.Statement) {
    assert.equal(st.Effect, "Allow", `${where}: only Allow statements`);
    for (const r of [].concat(st.Resource)) {
      const resource = POLICY_RESOURCES[r];
      assert.ok(resource, `${where}: resource ${r} is not one of ${Object.keys(POLICY_RESOURCES).join(", ")}`);
      for (const a of [].concat(st.Action)) {
        assert.doesNotMatch(a, /\*/, `${where}: wildcard action ${a}`);
        pairs.add(`${a} on ${resource}`);
      }
    }
  }
  return pairs;
}

test("IAM: each storefront role's policy allows exactly the AWS actions its code calls, on the resources it calls them on", () => {
  const calls = roleAwsCalls();
  const policies = root.config.locals.workload_policies;
  assert.deepEqual(Object.keys(policies).sort(), Object.keys(calls).sort(), "one workload policy per storefront role that app.cpp runs");
  // The analysis must see the storefront's real traffic, or an empty result would pass.
  assert.ok(calls.worker.has("sqs:ReceiveMessage") && calls.users.has("dynamodb:PutItem") && calls.orders.has("sqs:SendMessage"), "the AWS-call analysis of the C++ sources found too little");
  const problems = [];
  for (const [role, used] of Object.entries(calls)) {
    const needed = new Set([...used].flatMap(([a, resources]) => [...resources].map((r) => `${a} on ${r}`)));
    const allowed = allowedPairs(policies[role], `workload_policies.${role}`);
    for (const n of needed) if (!allowed.has(n)) problems.push(`${role}: calls ${n}, which its policy does not allow`);
    for (const a of allowed) if (!needed.has(a)) problems.push(`${role}: its policy allows ${a}, which its code never calls`);
  }
  assert.deepEqual(problems, []);
});

test("IAM: a role without AWS calls gets an IRSA role without a policy, every other role its policy", () => {
  const call = first(root.config.module.eks).workload_roles;
  assert.match(call, /has_policy\s*=\s*length\(policy\.Statement\)\s*>\s*0/, "workload roles must say whether they carry a policy");
  assert.match(mods.eks.text, /for_each = \{ for k, v in local\.irsa_roles : k => v if v\.has_policy \}/, "the inline policy must be skipped for roles without statements");
});

test("the overlays' images come from the ECR repositories Terraform creates, with the environment's tag", () => {
  const repos = first(root.config.resource.aws_ecr_repository.this);
  const names = [...repos.for_each.matchAll(/"(\w+)"/g)].map((m) => `crest/${m[1]}`);
  for (const env of ENVS) {
    const k = YAML.parse(read(path.join(DEPLOY, "k8s/overlays", env, "kustomization.yaml")));
    for (const img of k.images || []) {
      const repo = img.newName.replace(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\//, "");
      assert.notEqual(repo, img.newName, `${env}: image ${img.newName} is not in ECR`);
      assert.ok(names.includes(repo), `${env}: ECR repository ${repo} is not created by Terraform (${names})`);
      assert.equal(img.newTag, tfvars[env].image_tag, `${env}: overlay tag ${img.newTag} differs from image_tag`);
    }
  }
});
