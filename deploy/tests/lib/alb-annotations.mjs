// The AWS Load Balancer Controller's Ingress annotations (v2.x documentation, "Ingress
// annotations"): every alb.ingress.kubernetes.io/* key must be one the controller knows, and its
// value must have the documented form. Returns a list of errors.
const INT = (lo, hi) => (v) => /^\d+$/.test(v) && Number(v) >= lo && Number(v) <= hi || `an integer in ${lo}..${hi}`;
const ONE_OF = (...xs) => (v) => xs.includes(v) || `one of ${xs.join(", ")}`;
const ARN = (service) => (v) => v.split(",").every((a) => new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:\\d{12}:`).test(a.trim())) || `${service} ARN(s)`;
const KV = (keys) => (v) => {
  for (const pair of v.split(",")) {
    const [k, val] = pair.split("=");
    if (val === undefined || !k.trim() || !val.trim()) return `key=value pairs, got "${pair}"`;
    const check = keys[k.trim()];
    if (!check) return `known attributes (${Object.keys(keys).join(", ")}), got "${k.trim()}"`;
    const ok = check(val.trim());
    if (ok !== true) return `${k.trim()}: ${ok}`;
  }
  return true;
};
const BOOL = ONE_OF("true", "false");

const TG_ATTRIBUTES = {
  "deregistration_delay.timeout_seconds": INT(0, 3600),
  "slow_start.duration_seconds": INT(0, 900),
  "stickiness.enabled": BOOL,
  "stickiness.type": ONE_OF("lb_cookie", "app_cookie"),
  "stickiness.lb_cookie.duration_seconds": INT(1, 604800),
  "stickiness.app_cookie.cookie_name": (v) => v.length > 0 || "a cookie name",
  "stickiness.app_cookie.duration_seconds": INT(1, 604800),
  "load_balancing.algorithm.type": ONE_OF("round_robin", "least_outstanding_requests", "weighted_random"),
  "load_balancing.cross_zone.enabled": ONE_OF("true", "false", "use_load_balancer_configuration"),
};
const LB_ATTRIBUTES = {
  "idle_timeout.timeout_seconds": INT(1, 4000),
  "deletion_protection.enabled": BOOL,
  "routing.http.drop_invalid_header_fields.enabled": BOOL,
  "routing.http2.enabled": BOOL,
  "access_logs.s3.enabled": BOOL,
  "access_logs.s3.bucket": (v) => /^[a-z0-9.-]{3,63}$/.test(v) || "a bucket name",
  "access_logs.s3.prefix": () => true,
  "routing.http.desync_mitigation_mode": ONE_OF("monitor", "defensive", "strictest"),
  "waf.fail_open.enabled": BOOL,
};

export const ALB_ANNOTATIONS = {
  "load-balancer-name": (v) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/.test(v) || "1-32 alphanumerics or hyphens, not starting or ending with a hyphen",
  "group.name": (v) => /^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$/.test(v) || "a DNS label",
  "group.order": INT(0, 1000),
  scheme: ONE_OF("internal", "internet-facing"),
  "ip-address-type": ONE_OF("ipv4", "dualstack", "dualstack-without-public-ipv4"),
  "target-type": ONE_OF("instance", "ip"),
  "backend-protocol": ONE_OF("HTTP", "HTTPS"),
  "backend-protocol-version": ONE_OF("HTTP1", "HTTP2", "GRPC"),
  "listen-ports": (v) => {
    try {
      const ports = JSON.parse(v);
      return Array.isArray(ports) && ports.every((p) => Object.entries(p).length === 1 && ["HTTP", "HTTPS"].includes(Object.keys(p)[0]) && Number.isInteger(Object.values(p)[0])) || 'a JSON list like [{"HTTPS": 443}]';
    } catch {
      return 'JSON like [{"HTTP": 80}, {"HTTPS": 443}]';
    }
  },
  "ssl-redirect": INT(1, 65535),
  "certificate-arn": ARN("acm"),
  "ssl-policy": (v) => /^ELBSecurityPolicy-[A-Za-z0-9-]+$/.test(v) || "an ELBSecurityPolicy-* name",
  "healthcheck-path": (v) => v.startsWith("/") || "a path starting with /",
  "healthcheck-port": (v) => v === "traffic-port" || INT(1, 65535)(v),
  "healthcheck-protocol": ONE_OF("HTTP", "HTTPS"),
  "healthcheck-interval-seconds": INT(5, 300),
  "healthcheck-timeout-seconds": INT(2, 120),
  "healthy-threshold-count": INT(2, 10),
  "unhealthy-threshold-count": INT(2, 10),
  "success-codes": (v) => /^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$/.test(v) || "HTTP codes, ranges or lists (200, 200-299, 200,302)",
  "target-group-attributes": KV(TG_ATTRIBUTES),
  "load-balancer-attributes": KV(LB_ATTRIBUTES),
  "security-groups": (v) => v.split(",").every((s) => s.trim().length > 0) || "security group IDs or names",
  "manage-backend-security-group-rules": BOOL,
  "inbound-cidrs": (v) => v.split(",").every((c) => /^[0-9a-f.:]+\/\d{1,3}$/.test(c.trim())) || "CIDRs",
  subnets: (v) => v.split(",").every((s) => s.trim().length > 0) || "subnet IDs or names",
  tags: KV(new Proxy({}, { get: () => () => true })),
  "wafv2-acl-arn": ARN("wafv2"),
  "shield-advanced-protection": BOOL,
  actions: () => true,
  conditions: () => true,
};

export function albAnnotationErrors(annotations = {}, where = "") {
  const errors = [];
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith("alb.ingress.kubernetes.io/")) continue;
    const name = key.slice("alb.ingress.kubernetes.io/".length);
    const base = name.startsWith("actions.") ? "actions" : name.startsWith("conditions.") ? "conditions" : name;
    const check = ALB_ANNOTATIONS[base];
    if (!check) {
      errors.push(`${where}${key}: not an annotation of the AWS Load Balancer Controller`);
      continue;
    }
    const ok = check(String(value));
    if (ok !== true) errors.push(`${where}${key}: "${value}" is not ${ok}`);
  }
  return errors;
}
