/**
 * The `/api` and `/media` proxy, tested end to end: the production build is served by
 * `server.mjs` (what `npm run start` runs), pointed at a stand-in API (a plain node:http
 * server in this process) through API_ORIGIN at start time, and driven over real HTTP.
 *
 * Needs a build first: `npm run build` (at the repo root or in web/).
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { createGunzip } from "node:zlib";

import { closeServer, deferred, openRequest, readBody, startStandInApi, startWeb, within } from "./servers.mjs";

describe("api proxy", () => {
  let api;
  let web;

  before(async () => {
    assert.ok(existsSync(new URL("../.next/BUILD_ID", import.meta.url)), "no production build: run `npm run build` first");
    api = await startStandInApi("first");
    web = await startWeb(api.origin);
  });

  after(async () => {
    await web?.stop();
    if (api) await closeServer(api.server);
  });

  test("sends /api and /media requests to the API_ORIGIN given at start time", async () => {
    const other = await startStandInApi("second");
    const otherWeb = await startWeb(other.origin);
    try {
      const first = await fetch(`${web.url}/api/echo?page=2`);
      const second = await fetch(`${otherWeb.url}/media/clips/abc.mp4?sig=x%2By`);
      assert.deepEqual(await first.json(), { answeredBy: "first" });
      assert.deepEqual(await second.json(), { answeredBy: "second" });
      assert.equal(api.requests.at(-1).url, "/api/echo?page=2");
      assert.equal(other.requests.at(-1).url, "/media/clips/abc.mp4?sig=x%2By");
    } finally {
      await otherWeb.stop();
      await closeServer(other.server);
    }
  });

  test("forwards cookies, content type, range and last-event-id, and adds x-forwarded headers", async () => {
    await fetch(`${web.url}/api/echo`, {
      method: "PUT",
      headers: {
        cookie: "echoes_session=s1; echoes_visitor=v1",
        "content-type": "application/json",
        range: "bytes=0-99",
        "last-event-id": "42",
      },
      body: "{}",
    });
    const seen = api.requests.at(-1);
    assert.equal(seen.method, "PUT");
    assert.equal(seen.headers.cookie, "echoes_session=s1; echoes_visitor=v1");
    assert.equal(seen.headers["content-type"], "application/json");
    assert.equal(seen.headers.range, "bytes=0-99");
    assert.equal(seen.headers["last-event-id"], "42");
    assert.equal(seen.headers["x-forwarded-host"], new URL(web.url).host);
    assert.equal(seen.headers["x-forwarded-proto"], "http");
    assert.equal(seen.headers["x-forwarded-for"], "127.0.0.1");
  });

  test("appends the visitor's real address to an x-forwarded-for they sent themselves", async () => {
    await fetch(`${web.url}/api/echo`, { headers: { "x-forwarded-for": "203.0.113.7" } });
    assert.equal(api.requests.at(-1).headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
  });

  test("returns every set-cookie, the status and problem details of the API", async () => {
    api.handlers.set("/api/try", (req, res) => {
      req.resume();
      res.writeHead(429, [
        ["content-type", "application/problem+json"],
        ["set-cookie", "echoes_visitor=v2; Path=/; HttpOnly; SameSite=Lax"],
        ["set-cookie", "echoes_seen=1; Path=/"],
        ["retry-after", "60"],
      ]);
      res.end(JSON.stringify({ title: "Too Many Requests", status: 429, code: "RATE_LIMITED", detail: "One free clip a day.", retryAfter: 60 }));
    });
    const response = await fetch(`${web.url}/api/try`, { method: "POST", body: new FormData() });
    assert.equal(response.status, 429);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    assert.equal(response.headers.get("retry-after"), "60");
    assert.deepEqual(response.headers.getSetCookie(), ["echoes_visitor=v2; Path=/; HttpOnly; SameSite=Lax", "echoes_seen=1; Path=/"]);
    assert.equal((await response.json()).code, "RATE_LIMITED");
  });

  test("streams an upload to the API before the browser has finished sending it", async () => {
    const firstBytesArrived = deferred();
    const upload = deferred();
    api.handlers.set("/api/try", (req, res, record) => {
      let received = 0;
      req.on("data", (chunk) => {
        received += chunk.length;
        firstBytesArrived.resolve();
      });
      req.on("end", () => {
        upload.resolve({ received, contentType: record.headers["content-type"] });
        res.writeHead(202, { "content-type": "application/json" });
        res.end(JSON.stringify({ id: "t1", status: "queued" }));
      });
    });
    const boundary = "----echoes-test";
    const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="photo"; filename="p.jpg"\r\ncontent-type: image/jpeg\r\n\r\n`);
    const photo = Buffer.alloc(8 * 1024 * 1024, 0xab);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const { request, response } = openRequest(`${web.url}/api/try`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": head.length + photo.length + tail.length },
    });
    try {
      request.write(head);
      request.write(photo.subarray(0, 1024 * 1024));
      await within(firstBytesArrived.promise, "the API to receive the start of the upload");
      request.end(Buffer.concat([photo.subarray(1024 * 1024), tail]));
      const answer = await within(response, "the proxied answer");
      assert.equal(answer.statusCode, 202);
      assert.deepEqual(JSON.parse(await readBody(answer)), { id: "t1", status: "queued" });
      assert.deepEqual(await upload.promise, { received: head.length + photo.length + tail.length, contentType: `multipart/form-data; boundary=${boundary}` });
    } finally {
      request.destroy();
    }
  });

  test("streams server-sent events as they are written and closes the API stream when the browser leaves", async () => {
    const firstEventRead = deferred();
    const upstreamClosed = deferred();
    api.handlers.set("/api/events", (req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      res.write("id: 1\ndata: {\"clip\":\"c1\",\"status\":\"generating\"}\n\n");
      res.on("close", () => upstreamClosed.resolve());
    });
    // Browsers ask for gzip on EventSource too; Next may compress, but must flush each write.
    const { request, response } = openRequest(`${web.url}/api/events`, {
      headers: { accept: "text/event-stream", "accept-encoding": "gzip" },
    });
    request.end();
    try {
      const answer = await within(response, "the event stream to open");
      assert.equal(answer.headers["content-type"], "text/event-stream");
      const events = answer.headers["content-encoding"] === "gzip" ? answer.pipe(createGunzip()) : answer;
      events.setEncoding("utf8");
      let text = "";
      events.on("data", (chunk) => {
        text += chunk;
        if (text.includes("\n\n")) firstEventRead.resolve();
      });
      events.on("error", () => {});
      // The API has not ended its response: the event arrives only if nothing on the way buffers it.
      await within(firstEventRead.promise, "the first event while the stream is still open");
      assert.equal(text, "id: 1\ndata: {\"clip\":\"c1\",\"status\":\"generating\"}\n\n");
    } finally {
      request.destroy();
    }
    await within(upstreamClosed.promise, "the API side of the stream to close");
  });

  test("passes partial media responses through for video seeking", async () => {
    const media = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
    api.handlers.set("/media/clips/c1.mp4", (req, res) => {
      const [, start, end] = /bytes=(\d+)-(\d+)/.exec(req.headers.range);
      res.writeHead(206, {
        "content-type": "video/mp4",
        "accept-ranges": "bytes",
        "content-range": `bytes ${start}-${end}/${media.length}`,
      });
      res.end(media.subarray(Number(start), Number(end) + 1));
    });
    const response = await fetch(`${web.url}/media/clips/c1.mp4?exp=1&sig=abc`, { headers: { range: "bytes=100-199" } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get("content-range"), "bytes 100-199/1000");
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), media.subarray(100, 200));
  });

  test("refuses paths that would step out of /api or /media on the API", async () => {
    const seen = api.requests.length;
    for (const path of ["/api/..%2f..%2fadmin", "/media/..%2fapi%2fme", "/api/..%5cadmin", "/api/%2e%2e/%2e%2e/admin", "/media/x/%2E%2E/%2E%2E/secret"]) {
      const { request, response } = openRequest(`${web.url}${path}`);
      request.end();
      const answer = await within(response, `the answer for ${path}`);
      await readBody(answer);
      assert.equal(answer.statusCode, 404, path);
    }
    assert.deepEqual(api.requests.slice(seen).map((r) => r.url), []);
  });

  test("answers 503 problem details when the API cannot be reached", async () => {
    const gone = await startStandInApi("gone");
    await closeServer(gone.server);
    const orphanWeb = await startWeb(gone.origin);
    try {
      const response = await fetch(`${orphanWeb.url}/api/try/t1`);
      assert.equal(response.status, 503);
      assert.equal(response.headers.get("content-type"), "application/problem+json");
      const problem = await response.json();
      assert.equal(problem.code, "SERVICE_UNAVAILABLE");
      assert.equal(problem.status, 503);
      assert.match(problem.detail, /try again/);
    } finally {
      await orphanWeb.stop();
    }
  });
});
