// The terraform command, offline: hashicorp/aws is installed from a local filesystem mirror (a
// directory holding registry.terraform.io/hashicorp/aws/<version>/<os_arch>/), never downloaded.
// The mirror is $CREST_TERRAFORM_PLUGIN_MIRROR, else the first of the usual plugin directories
// that holds hashicorp/aws. Working data goes to a temporary TF_DATA_DIR; the committed
// .terraform.lock.hcl is only read.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { run, which } from "./repo.mjs";

const CANDIDATE_MIRRORS = [
  "/opt/tf-plugins",
  "/usr/local/share/terraform/plugins",
  "/usr/share/terraform/plugins",
  path.join(os.homedir(), ".terraform.d/plugins"),
  path.join(os.homedir(), ".local/share/terraform/plugins"),
];

export function findMirror() {
  const given = process.env.CREST_TERRAFORM_PLUGIN_MIRROR;
  const candidates = given ? [given] : CANDIDATE_MIRRORS;
  return candidates.find((d) => fs.existsSync(path.join(d, "registry.terraform.io/hashicorp/aws"))) || null;
}

// { skip: false | "why", mirror, init(), run(args) } for the root module in `dir`.
export function terraformCli(dir) {
  const terraform = which("terraform");
  if (!terraform) return { skip: "terraform is not installed here (it is neither a Debian nor an npm package): terraform validate/test skipped" };
  const mirror = findMirror();
  if (!mirror) {
    return { skip: "no local mirror of hashicorp/aws (set CREST_TERRAFORM_PLUGIN_MIRROR to a directory holding registry.terraform.io/hashicorp/aws): terraform validate/test skipped" };
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "crest-terraform-"));
  const rc = path.join(work, "terraform.rc");
  fs.writeFileSync(rc, `provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/*/*"]
  }
}
`);
  const env = { ...process.env, TF_CLI_CONFIG_FILE: rc, TF_DATA_DIR: path.join(work, "data"), TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1" };
  process.on("exit", () => fs.rmSync(work, { recursive: true, force: true }));
  const cli = (args, cwd = dir) => run(terraform, args, { cwd, env });
  return {
    skip: false,
    mirror,
    run: cli,
    init: (cwd = dir) => cli(["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"], cwd),
  };
}
