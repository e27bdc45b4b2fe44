// No hard-coded secrets anywhere in deploy/ or the root package files.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { DEPLOY, ROOT, read, rel, walk, yamlDocs } from "./lib/repo.mjs";
import { findSecrets } from "./lib/secrets.mjs";

test("no password, secret, token or key literals in deploy/", () => {
  const files = [
    ...walk(DEPLOY, (p) => !p.includes(`${path.sep}tests${path.sep}`)),
    path.join(ROOT, "package.json"),
  ];
  assert.ok(files.length > 50);
  // CustomResourceDefinitions (the add-ons' pinned CRDs) hold schemas and their prose, no values.
  const schemaOnly = (f) => /\.ya?ml$/.test(f) && yamlDocs(f).every((d) => d.kind === "CustomResourceDefinition");
  const findings = files.filter((f) => !schemaOnly(f)).flatMap((f) => findSecrets(read(f), rel(f)));
  assert.deepEqual(findings.map((f) => `${f.file}:${f.line}: ${f.why}`), []);
});
