// The checks must catch mistakes, not only pass on the repository: each mutation below seeds one
// known mistake into a scratch copy of deploy/ and requires the suite that owns that kind of
// mistake to fail on it. The checks are general (provider schemas through terraform validate,
// the Kubernetes types, the ALB controller's annotation forms, promtool, the table definitions),
// not matched to this list: further mistakes of the same kinds are caught the same way.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEPLOY, ROOT, run, which } from "./lib/repo.mjs";
import { terraformCli } from "./lib/terraform-cli.mjs";

// file: relative to deploy/; check: "terraform validate", "terraform test" or a node test file.
const MUTATIONS = [
  { what: "misspelt Terraform argument", file: "terraform/modules/dynamodb/main.tf", from: "billing_mode =", to: "biling_mode =", check: "terraform validate" },
  { what: "invalid Terraform enum (DynamoDB billing mode)", file: "terraform/modules/dynamodb/main.tf", from: '"PAY_PER_REQUEST"', to: '"ON_DEMAND"', check: "terraform validate" },
  { what: "invalid Terraform enum (listener protocol)", file: "terraform/modules/asg/main.tf", from: 'protocol          = "HTTPS"', to: 'protocol          = "HTTP2"', check: "terraform validate" },
  { what: "wrong Terraform type (bool as text)", file: "terraform/modules/sqs/main.tf", from: /sqs_managed_sse_enabled\s*=\s*true/, to: 'sqs_managed_sse_enabled = "yes please"', check: "terraform validate" },
  { what: "argument of the wrong resource block", file: "terraform/modules/rds/main.tf", from: "storage_encrypted     = true", to: "storage_encrypted     = true\n  encrypted = true", check: "terraform validate" },
  { what: "wrong DynamoDB key schema", file: "dynamodb/tables.json", from: '"key_type": "S"', to: '"key_type": "N"', check: "terraform test" },
  { what: "missing IAM action", file: "terraform/main.tf", from: '"sqs:ChangeMessageVisibility", ', to: "", check: "terraform.test.mjs", pattern: "IAM" },
  { what: "unknown Kubernetes field", file: "k8s/base/catalog/deployment.yaml", from: "containerPort:", to: "containerport:", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "misplaced Kubernetes field", file: "k8s/base/catalog/deployment.yaml", from: "readinessProbe:", to: "readinesProbe:", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "invalid Kubernetes enum", file: "k8s/base/catalog/deployment.yaml", from: /protocol: TCP/, to: "protocol: TCPX", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "bad ALB annotation value (scheme)", file: "k8s/base/ingress.yaml", from: "scheme: internet-facing", to: "scheme: public", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "bad ALB annotation value (target group attribute)", file: "k8s/base/ingress.yaml", from: "stickiness.type=lb_cookie", to: "stickiness.type=cookie", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "misspelt ALB annotation", file: "k8s/base/ingress.yaml", from: "alb.ingress.kubernetes.io/ssl-policy", to: "alb.ingress.kubernetes.io/ssl-polcy", check: "k8s.test.mjs", pattern: "every resource file validates" },
  // Caught by the binary itself (storefront-config.test.mjs): keys against `storefront --help-config`,
  // values by starting every role with the overlays' ConfigMaps.
  { what: "invalid storefront setting (misspelt key)", file: "k8s/base/storefront.env", from: "CREST_LOG_LEVEL=", to: "CREST_LOG_LEVL=", check: "storefront-config.test.mjs", pattern: "storefront setting" },
  { what: "invalid storefront setting (value the binary rejects)", file: "k8s/base/storefront.env", from: "CREST_CACHE=redis", to: "CREST_CACHE=elasticache", check: "storefront-config.test.mjs" },
  { what: "broken PromQL in a dashboard", file: "grafana/dashboards/red.json", from: "sum by (service) (rate(", to: "sum by (service) (rate((", check: "promql.test.mjs" },
  { what: "broken PromQL in the Prometheus Adapter rules", file: "k8s/monitoring/prometheus-adapter-values.yaml", from: "[2m]", to: "[2 m]", check: "promql.test.mjs" },
  // The cluster add-ons (deploy/k8s/components) and what the overlays give them.
  { what: "broken PromQL in the rendered Prometheus Adapter's config", file: "k8s/components/prometheus-adapter/prometheus-adapter-chart-5.3.0.yaml", from: "by (queue, state)", to: "by (queue, state", check: "promql.test.mjs" },
  { what: "add-on image tag not a pinned release", file: "k8s/components/aws-load-balancer-controller/aws-load-balancer-controller-v2.13.4.yaml", from: "aws-load-balancer-controller:v2.13.4", to: "aws-load-balancer-controller:v2.13", check: "k8s.test.mjs", pattern: "pin every image" },
  { what: "unknown field in an add-on Deployment", file: "k8s/components/cluster-autoscaler/cluster-autoscaler-chart-9.51.0.yaml", from: "livenessProbe:", to: "livenesProbe:", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "unknown field in a custom resource (ExternalSecret)", file: "k8s/overlays/staging/storefront-secrets.yaml", from: "refreshInterval: 1h", to: "refreshIntervall: 1h", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "invalid enum in a custom resource (SecretStore provider service)", file: "k8s/overlays/production/storefront-secrets.yaml", from: "service: SecretsManager", to: "service: SecretManager", check: "k8s.test.mjs", pattern: "every resource file validates" },
  { what: "add-on IRSA role that Terraform does not create", file: "k8s/overlays/staging/addons.yaml", from: "role/crest-staging-cluster-autoscaler", to: "role/crest-staging-autoscaler", check: "k8s.test.mjs", pattern: "IRSA" },
  { what: "add-on given another cluster's name", file: "k8s/overlays/production/addons.yaml", from: "--cluster-name=crest-production", to: "--cluster-name=crest-staging", check: "k8s.test.mjs", pattern: "cluster name" },
  { what: "ExternalSecret reading a secret Terraform does not create", file: "k8s/overlays/staging/storefront-secrets.yaml", from: "key: crest-staging/storefront", to: "key: crest/storefront", check: "k8s.test.mjs", pattern: "ExternalSecret" },
  // IAM per role: each storefront role's policy against the AWS calls its code makes.
  { what: "IAM action removed from one role (users: PutItem)", file: "terraform/main.tf", from: '["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]', to: '["dynamodb:GetItem", "dynamodb:DeleteItem"]', check: "terraform.test.mjs", pattern: "IAM" },
  { what: "IAM action granted to a role that never calls it (orders: ReceiveMessage)", file: "terraform/main.tf", from: 'Action   = ["sqs:SendMessage"]', to: 'Action   = ["sqs:SendMessage", "sqs:ReceiveMessage"]', check: "terraform.test.mjs", pattern: "IAM" },
  { what: "IAM action on the wrong resource (cart: UpdateItem on sessions)", file: "terraform/main.tf", from: /(Action\s+= \["dynamodb:UpdateItem"\]\s+Resource = \[)module\.dynamodb\.table_arns\.carts/, to: "$1module.dynamodb.table_arns.sessions", check: "terraform.test.mjs", pattern: "IAM" },
];

function copyTree(src, dst) {
  fs.cpSync(src, dst, { recursive: true, filter: (p) => !p.includes(`${path.sep}.terraform${path.sep}`) && !p.endsWith(`${path.sep}.terraform`) });
}

function scratchCopy() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "crest-mutations-"));
  copyTree(DEPLOY, path.join(dir, "deploy"));
  fs.mkdirSync(path.join(dir, "scripts"));
  fs.copyFileSync(path.join(ROOT, "scripts/install-deps"), path.join(dir, "scripts/install-deps"));
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(dir, "package.json"));
  fs.copyFileSync(path.join(ROOT, "scripts/fauxqs-server.mjs"), path.join(dir, "scripts/fauxqs-server.mjs")); // the SQS stand-in
  copyTree(path.join(ROOT, "libs/store/src"), path.join(dir, "libs/store/src")); // the adapters' AWS calls
  copyTree(path.join(ROOT, "apps/storefront/src"), path.join(dir, "apps/storefront/src")); // which role calls them
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(dir, "node_modules"));
  return dir;
}

function mutate(dir, m) {
  const file = path.join(dir, "deploy", m.file);
  const before = fs.readFileSync(file, "utf8");
  const after = before.replace(m.from, m.to);
  assert.notEqual(after, before, `mutation "${m.what}": ${m.from} not found in deploy/${m.file}`);
  fs.writeFileSync(file, after);
  return () => fs.writeFileSync(file, before);
}

const cli = terraformCli(path.join(DEPLOY, "terraform"));
// A node --test started from inside a test inherits NODE_TEST_CONTEXT and then reports to us
// instead of exiting non-zero on failure: run it as a top-level runner.
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_TEST_CONTEXT"));
const needsTerraform = (m) => m.check.startsWith("terraform");

test("every seeded mistake is caught by the checks", { timeout: 30 * 60 * 1000 }, async (t) => {
  const dir = scratchCopy();
  const tfDir = path.join(dir, "deploy/terraform");
  try {
    let tfReady = false;
    for (const m of MUTATIONS) {
      const skip =
        needsTerraform(m) && cli.skip ? cli.skip :
        m.check === "promql.test.mjs" && !which("promtool") ? "promtool is not installed here" :
        m.check === "storefront-config.test.mjs" && !process.env.CREST_STOREFRONT_BINARY ? "CREST_STOREFRONT_BINARY is not set" : false;
      await t.test(m.what, { skip }, () => {
        if (needsTerraform(m) && !tfReady) {
          const init = cli.init(tfDir);
          assert.equal(init.status, 0, `terraform init in the scratch copy:\n${init.stdout}${init.stderr}`);
          tfReady = true;
        }
        const restore = mutate(dir, m);
        try {
          let r;
          if (m.check === "terraform validate") r = cli.run(["validate", "-no-color"], tfDir);
          else if (m.check === "terraform test") r = cli.run(["test", "-no-color", "-var-file=envs/staging.tfvars"], tfDir);
          else r = run(process.execPath, ["--test", ...(m.pattern ? [`--test-name-pattern=${m.pattern}`] : []), path.join(dir, "deploy/tests", m.check)], { cwd: dir, env: childEnv });
          assert.notEqual(r.status, 0, `not caught by ${m.check}: ${m.what} (deploy/${m.file}: ${m.from} -> ${m.to})`);
          t.diagnostic(`${m.what}: caught by ${m.check}`);
        } finally {
          restore();
        }
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
