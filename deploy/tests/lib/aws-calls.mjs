// Which AWS actions each storefront role calls, read from the C++ sources, so each role's IAM
// policy can be required to hold exactly those (deploy/tests/terraform.test.mjs).
//
// 1. The AWS adapters (libs/store/src: DynamoDB session and cart stores, SQS queue): each member
//    function's body, its DynamoDB/SQS client calls (client_->get_item(...), the raw
//    client().call("SendMessageBatch", ...)) and, transitively, the file's other functions it
//    calls: port method -> actions, on the adapter's resource (sessions table, carts table, the
//    queue).
// 2. The storefront (apps/storefront/src): app.cpp names what each role runs
//    (`if (all || role == "cart") add_cart_routes(...)`, `relay = std::make_unique<OutboxRelay>`);
//    from those entry points the functions reachable through calls to names defined once in the
//    sources; in them, calls on the ports (`stores.carts->get(`, `sessions.get(`,
//    `queue.receive(`), typed by the receiver's name.
// Names defined more than once (start, stop, ...) are followed only as Class::name when the class
// is an entry point, so a common name does not pull another role's code in.
import fs from "node:fs";
import path from "node:path";
import { ROOT, read } from "./repo.mjs";

const STORE_SRC = path.join(ROOT, "libs/store/src");
const APP_SRC = path.join(ROOT, "apps/storefront/src");

// The AWS adapters: port, file, the resource their calls act on.
export const ADAPTERS = {
  SessionStore: { file: "dynamodb_session_store.cpp", cls: "DynamoDbSessionStore", resource: "dynamodb:sessions" },
  CartStore: { file: "dynamodb_cart_store.cpp", cls: "DynamoDbCartStore", resource: "dynamodb:carts" },
  Queue: { file: "sqs_queue.cpp", cls: "SqsQueue", resource: "sqs:queue", base: "queue.cpp" },
};
// A port receiver by its variable name; the queue's resource depends on which queue it is.
function portOf(receiver) {
  if (/sessions$/.test(receiver)) return { port: "SessionStore" };
  if (/carts$/.test(receiver)) return { port: "CartStore" };
  if (/dlq$/.test(receiver)) return { port: "Queue", resource: "sqs:dlq" };
  if (/queue$/.test(receiver)) return { port: "Queue" };
  return null;
}
// OrderWorker::sample_queue_depth reads both queues through one loop variable: the list it
// iterates names them.
const QUEUE_LIST = /\{\s*"\w*",\s*shop_\.stores\.(\w+)\s*\}/g;

const withoutComments = (s) => s.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
// String literals emptied (their braces and semicolons are not code), except the operation names
// of raw calls: call("SendMessageBatch", ...).
const stripComments = (s) => withoutComments(s).replace(/"(?:[^"\\\n]|\\.)*"/g, (m) => (/^"[A-Z][A-Za-z]+"$/.test(m) ? m : '""'));

// Function definitions of a C++ source file at namespace level: { qualified, name, cls, body }.
export function functionsOf(text) {
  const s = stripComments(text);
  const out = [];
  let i = 0;
  let segmentStart = 0;
  const scopes = []; // "namespace" | "function" | "other"
  while (i < s.length) {
    const c = s[i];
    if (c === ";" && !scopes.includes("function")) segmentStart = i + 1;
    if (c === "{") {
      if (scopes.every((x) => x === "namespace")) {
        const sig = s.slice(segmentStart, i);
        if (/\bnamespace\b[\w\s:]*$/.test(sig)) {
          scopes.push("namespace");
        } else {
          const m = /((?:\w+::)*)(~?\w+)\s*\(([^()]|\([^()]*\))*\)[\w\s:&,<>()*\-]*$/.exec(sig.replace(/\s+/g, " "));
          let depth = 1;
          let j = i + 1;
          for (; j < s.length && depth > 0; ++j) {
            if (s[j] === "{") depth++;
            else if (s[j] === "}") depth--;
          }
          if (m && !/^(if|for|while|switch|catch)$/.test(m[2])) {
            const cls = m[1] ? m[1].replace(/::$/, "").split("::").pop() : null;
            out.push({ qualified: cls ? `${cls}::${m[2]}` : m[2], name: m[2], cls, body: s.slice(i + 1, j - 1) });
          }
          i = j;
          segmentStart = j;
          continue;
        }
      } else {
        scopes.push("other");
      }
      segmentStart = i + 1;
    } else if (c === "}") {
      scopes.pop();
      segmentStart = i + 1;
    }
    ++i;
  }
  return out;
}

const pascal = (op) => op.split("_").map((w) => w[0].toUpperCase() + w.slice(1)).join("");

// Actions of one adapter's port methods: { method: Set("dynamodb:GetItem", ...) }.
export function adapterActions(port, srcDir = STORE_SRC) {
  const { file, cls, base } = ADAPTERS[port];
  // The port's own non-virtual helpers (Queue::send_batch -> send_messages) resolve to the adapter.
  const baseFns = base ? functionsOf(read(path.join(srcDir, base))).filter((f) => f.cls === port) : [];
  const fns = [...functionsOf(read(path.join(srcDir, file))), ...baseFns.map((f) => ({ ...f, qualified: `${cls}::${f.name}`, cls }))];
  const service = port === "Queue" ? "sqs" : "dynamodb";
  const direct = new Map();
  const calls = new Map();
  const names = new Set(fns.map((f) => f.name));
  for (const f of fns) {
    const acts = new Set();
    for (const m of f.body.matchAll(/client_?->([a-z_]+)\(/g)) {
      if (m[1] === "client") continue;
      let op = m[1];
      // SQS authorises *Batch calls by the single action.
      if (service === "sqs") op = op.replace(/_batch$/, "");
      acts.add(`${service}:${pascal(op)}`);
    }
    for (const m of f.body.matchAll(/\bcall\("([A-Z][A-Za-z]+)"/g)) acts.add(`${service}:${service === "sqs" ? m[1].replace(/Batch$/, "") : m[1]}`);
    direct.set(f.qualified, acts);
    // Calls on this object or free functions only: inspection_->send(...) is not Queue::send.
    calls.set(f.qualified, [...f.body.matchAll(/(?<!(?:->|\.)\s*)\b([a-z_]\w*)\s*\(/g)].map((m) => m[1]).filter((n) => names.has(n)));
  }
  const byName = (n) => fns.filter((f) => f.name === n).map((f) => f.qualified);
  const closure = (q, seen = new Set()) => {
    if (seen.has(q)) return new Set();
    seen.add(q);
    const acts = new Set(direct.get(q) || []);
    for (const n of calls.get(q) || []) for (const r of byName(n)) for (const a of closure(r, seen)) acts.add(a);
    return acts;
  };
  const out = {};
  for (const f of fns.filter((x) => x.cls === cls)) out[f.name] = closure(f.qualified);
  return out;
}

// Entry points per role, from app.cpp's role conditions: functions called and classes made there.
export function roleEntryPoints(appDir = APP_SRC) {
  const app = withoutComments(read(path.join(appDir, "app.cpp")));
  const out = {};
  for (const m of app.matchAll(/if \(all \|\| role == "(\w+)"\)\s*(\{|)/g)) {
    let body;
    if (m[2] === "{") {
      let depth = 1;
      let j = m.index + m[0].length;
      for (; depth > 0; ++j) {
        if (app[j] === "{") depth++;
        else if (app[j] === "}") depth--;
      }
      body = app.slice(m.index + m[0].length, j - 1);
    } else {
      body = app.slice(m.index + m[0].length, app.indexOf(";", m.index) + 1);
    }
    const e = out[m[1]] || { functions: new Set(), classes: new Set() };
    for (const c of body.matchAll(/\b([a-z_]\w*)\s*\(/g)) e.functions.add(c[1]);
    for (const c of body.matchAll(/make_unique<(\w+)>/g)) e.classes.add(c[1]);
    out[m[1]] = e;
  }
  return out;
}

// The AWS calls of every role: { role: Map("dynamodb:GetItem" -> Set("dynamodb:sessions")) }.
export function roleAwsCalls({ appDir = APP_SRC, storeDir = STORE_SRC } = {}) {
  const fns = fs.readdirSync(appDir).filter((f) => f.endsWith(".cpp") && !f.endsWith("_test.cpp"))
    .flatMap((f) => functionsOf(read(path.join(appDir, f))).map((fn) => ({ ...fn, file: f })));
  const count = new Map();
  for (const f of fns) count.set(f.name, (count.get(f.name) || 0) + 1);
  const adapters = Object.fromEntries(Object.keys(ADAPTERS).map((p) => [p, adapterActions(p, storeDir)]));
  const out = {};
  for (const [role, entry] of Object.entries(roleEntryPoints(appDir))) {
    const reached = new Set();
    const visit = (f) => {
      if (reached.has(f)) return;
      reached.add(f);
      for (const m of f.body.matchAll(/\b([a-z_]\w*)\s*\(/g)) {
        for (const g of fns.filter((x) => x.name === m[1] && (count.get(m[1]) === 1 || entry.classes.has(x.cls) || x.cls === f.cls))) visit(g);
      }
    };
    for (const f of fns) {
      if ((entry.functions.has(f.name) && count.get(f.name) === 1) || entry.classes.has(f.cls)) visit(f);
    }
    const calls = new Map();
    for (const f of reached) {
      const queues = new Set([...f.body.matchAll(QUEUE_LIST)].map((m) => m[1]));
      for (const m of f.body.matchAll(/([A-Za-z_][\w.]*?)(?:->|\.)([a-z_]+)\(/g)) {
        const receiverName = m[1].split(".").pop();
        const receivers = receiverName === "queue" && queues.size ? [...queues] : [receiverName];
        for (const r of receivers) {
          const p = portOf(r);
          if (!p) continue;
          const acts = adapters[p.port][m[2]];
          if (!acts) continue;
          for (const a of acts) {
            if (!calls.has(a)) calls.set(a, new Set());
            calls.get(a).add(p.resource ?? ADAPTERS[p.port].resource);
          }
        }
      }
    }
    out[role] = calls;
  }
  return out;
}
