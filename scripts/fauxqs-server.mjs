// Starts fauxqs (the SQS-compatible server from npm) on 127.0.0.1 only: its own CLI binds
// 0.0.0.0, which is not allowed here. Usage: node scripts/fauxqs-server.mjs <port> [region]
// Prints "fauxqs listening on <url>" once it accepts connections. Resolves `fauxqs` from the
// repository's node_modules (this file lives in <repo>/scripts).
//
// fauxqs imports node:sqlite (Node >= 22.5) for its optional on-disk persistence, which we never
// use; on Node 20 that import fails, so a resolve hook maps it to a stub that throws if used.
import { register } from "node:module";

const stub =
  "export class DatabaseSync { constructor() { throw new Error('node:sqlite is not available'); } }";
const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === "node:sqlite") {
    return { url: "data:text/javascript,${encodeURIComponent(stub)}", shortCircuit: true };
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const port = Number.parseInt(process.argv[2] ?? "", 10);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("usage: node scripts/fauxqs-server.mjs <port> [region]");
  process.exit(2);
}
const { buildApp } = await import("fauxqs");
const app = buildApp({ logger: false, defaultRegion: process.argv[3] ?? "us-east-1" });
const address = await app.listen({ host: "127.0.0.1", port });
console.log(`fauxqs listening on ${address}`);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    app.close().finally(() => process.exit(0));
  });
}
