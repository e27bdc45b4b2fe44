// Finds hard-coded secrets: credential-like keys with literal values, AWS access keys, private
// keys, and URLs with an inline password. References (Terraform expressions, env/secret
// refs, ${VAR} templates) and obvious non-values are not findings.
const KEY = String.raw`[A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|auth)[A-Za-z0-9_.-]*`;
const ASSIGN = new RegExp(String.raw`(?<key>["']?${KEY}["']?)\s*(?:=|:)\s*(?<value>"[^"\n]*"|'[^'\n]*'|[^\s#,}{\[\]]+)`, "gi");

const NOT_A_VALUE = [
  /^\$\{.*\}$/s, // Terraform or shell interpolation
  /^(var|local|module|data|aws_[a-z_]+|random_[a-z_]+)\./, // Terraform reference
  /^(true|false|null|none|on|off|yes|no|required|optional)$/i,
  /^[0-9]+$/, // sizes, counts (token TTLs, lengths)
  /^[A-Za-z]+:[A-Za-z]+:[A-Za-z]*\*?$/, // IAM actions like secretsmanager:GetSecretValue
  /^(arn:aws:|alias\/)/, // ARNs and KMS aliases identify, they do not authenticate
  /^\/[A-Za-z0-9_/.{}$-]*$/, // paths
  /^v?\d+(\.\d+)+$/, // versions (image tags: .../external-secrets:v2.9.0)
];
// Keys whose value names a Secret or a key in one (secretName, secretKey, SECRET_NAME), not a
// credential.
const NAMES_A_SECRET = /^(secretName|secretKey|secret_name|[A-Z_]*SECRET_NAME)$/;

function unquote(v) {
  return v.replace(/^["']|["']$/g, "");
}

export function findSecrets(text, file = "<text>") {
  const findings = [];
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/^\s*(#|\/\/).*$/, "");
    if (!code.trim()) return;
    if (/AKIA[0-9A-Z]{16}/.test(code)) findings.push({ file, line: i + 1, why: "AWS access key id" });
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(code)) findings.push({ file, line: i + 1, why: "private key" });
    const url = /[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:([^\s@/]+)@/i.exec(code);
    if (url && !/^\$\{?[A-Za-z_]/.test(url[1]) && !/^\$\(/.test(url[1])) {
      findings.push({ file, line: i + 1, why: "password in URL" });
    }
    for (const m of code.matchAll(ASSIGN)) {
      // An IAM action in a list ("secretsmanager:GetSecretValue") is not a key: value pair.
      if (/^["'][a-z0-9-]+:[A-Z][A-Za-z]*\*?["']?$/.test(m[0].trim())) continue;
      if (NAMES_A_SECRET.test(unquote(m.groups.key))) continue;
      const value = unquote(m.groups.value.trim());
      if (value === "" || value.length < 4) continue;
      if (NOT_A_VALUE.some((re) => re.test(value))) continue;
      if (/\$\{|\$\(|\{\{/.test(value)) continue; // templated at deploy time
      findings.push({ file, line: i + 1, why: `literal value for ${unquote(m.groups.key)}` });
    }
  });
  return findings;
}
