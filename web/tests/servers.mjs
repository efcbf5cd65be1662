/**
 * Servers for the tests that drive the production build over real HTTP: the build served by
 * `server.mjs` (what `npm run start` runs) and a stand-in API (a plain node:http server in
 * the test's process) that it is pointed at through API_ORIGIN.
 */

import { spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";

const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));
const STEP_TIMEOUT_MS = 10_000;

/** Resolves with `promise`, or rejects after a bound so a broken proxy fails instead of hanging. */
export function within(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

/** A stand-in API that records what it receives and lets a test steer its answers. */
export async function startStandInApi(name) {
  const api = { name, requests: [], handlers: new Map() };
  api.server = http.createServer((req, res) => {
    const record = { method: req.method, url: req.url, headers: req.headers };
    api.requests.push(record);
    const handler = api.handlers.get(new URL(req.url, "http://stand-in").pathname);
    if (handler) return handler(req, res, record);
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json", "x-answered-by": name });
      res.end(JSON.stringify({ answeredBy: name }));
    });
  });
  await new Promise((resolve) => api.server.listen(0, "127.0.0.1", resolve));
  api.origin = `http://127.0.0.1:${api.server.address().port}`;
  return api;
}

export function closeServer(server) {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
}

async function freePort() {
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Starts the built app as `npm run start` does (`env` added) and resolves once it listens. */
export async function startWeb(apiOrigin, env = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, ["server.mjs"], {
    cwd: WEB_DIR,
    env: { ...process.env, API_ORIGIN: apiOrigin, PORT: String(port), HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const ready = new Promise((resolve, reject) => {
    child.stdout.on("data", () => output.includes("ready on") && resolve());
    child.once("exit", (code) => reject(new Error(`server.mjs exited with ${code}:\n${output}`)));
  });
  await within(ready, "the web server to listen");
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    /** SIGTERM, then SIGKILL should the server's own shutdown grace not end it. */
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        const kill = setTimeout(() => child.kill("SIGKILL"), 2_000);
        child.once("exit", () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

/** One HTTP request with node:http, so the test controls when each body chunk is sent. */
export function openRequest(url, { method = "GET", headers = {} } = {}) {
  const request = http.request(url, { method, headers });
  const response = new Promise((resolve, reject) => {
    request.once("response", resolve);
    request.once("error", reject);
  });
  return { request, response };
}

export function readBody(response) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    response.on("data", (chunk) => chunks.push(chunk));
    response.on("end", () => resolve(Buffer.concat(chunks)));
    response.on("error", reject);
  });
}
