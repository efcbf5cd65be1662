/**
 * The production web server: Next's request handler behind a plain node:http server.
 *
 * Why not `next start`: the `/api` proxy must tell the API who the visitor is, and Next fills
 * in X-Forwarded-For only when a request arrives without one, so a visitor could send their
 * own header and pose as any address to the API's per-IP limits. Here the connection's peer
 * address is appended instead (as nginx's `$proxy_add_x_forwarded_for` does): the rightmost
 * entry is always an address this server saw, and the API, trusting this server, takes that.
 *
 * Environment: PORT (default 3000), HOST (default 127.0.0.1: this machine only; the Docker image
 * sets 0.0.0.0), API_ORIGIN, PUBLIC_URL and MEDIA_ORIGIN (see lib/server-env.ts).
 */

import http from "node:http";
import { fileURLToPath } from "node:url";

process.env.NODE_ENV ??= "production";
process.env.NEXT_TELEMETRY_DISABLED ??= "1";

/** How long open requests (event streams never end on their own) get to finish on shutdown. */
const SHUTDOWN_GRACE_MS = 5_000;

const port = Number(process.env.PORT || 3000);
const hostname = process.env.HOST || "127.0.0.1";
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  throw new Error(`PORT must be a TCP port number, got ${JSON.stringify(process.env.PORT)}`);
}

/** The peer address, with IPv4 shown plainly even when the server listens on IPv6. */
function peerAddress(socket) {
  const address = socket.remoteAddress ?? "";
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice("::ffff:".length) : address;
}

const { default: next } = await import("next");
const app = next({ dev: false, dir: fileURLToPath(new URL(".", import.meta.url)), hostname, port });
const handle = app.getRequestHandler();
await app.prepare();

const server = http.createServer((req, res) => {
  const peer = peerAddress(req.socket);
  const forwardedFor = req.headers["x-forwarded-for"];
  if (peer) req.headers["x-forwarded-for"] = forwardedFor ? `${forwardedFor}, ${peer}` : peer;
  handle(req, res).catch((error) => {
    console.error("web: unhandled error", error);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});

server.listen(port, hostname, () => {
  console.log(`web: ready on http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`);
});

function shutDown(signal) {
  console.log(`web: ${signal}, closing`);
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
}
process.once("SIGTERM", () => shutDown("SIGTERM"));
process.once("SIGINT", () => shutDown("SIGINT"));
