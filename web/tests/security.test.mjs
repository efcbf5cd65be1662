/**
 * The security headers on real pages of the production build (server.mjs), with a stand-in
 * API behind it. Needs a build first: `npm run build`.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";

import { closeServer, startStandInApi, startWeb } from "./servers.mjs";

const PUBLIC_URL = "https://echoes.example";
const MEDIA_ORIGIN = "https://media.echoes.example";

function directives(policy) {
  return new Map(policy.split(";").map((part) => {
    const [name, ...values] = part.trim().split(/\s+/);
    return [name, values];
  }));
}

/** The nonce of every `<script>` in `html` (null for one without). */
function scriptNonces(html) {
  return [...html.matchAll(/<script\b([^>]*)>/g)].map(([, attributes]) => /\snonce="([^"]+)"/.exec(attributes)?.[1] ?? null);
}

describe("page security headers", () => {
  let api;
  let web;

  before(async () => {
    assert.ok(existsSync(new URL("../.next/BUILD_ID", import.meta.url)), "no production build: run `npm run build` first");
    api = await startStandInApi("api");
    api.handlers.set("/api/me", (req, res) => {
      req.resume();
      res.writeHead(401, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ title: "Unauthorized", status: 401, code: "NOT_AUTHENTICATED", detail: "Please log in to continue." }));
    });
    api.handlers.set("/api/public/videos/s1", (req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ title: "Grandma's garden", width: 1280, height: 720, durationSeconds: 30, videoUrl: "/media/v.mp4?sig=a", posterUrl: "/media/p.jpg?sig=b" }));
    });
    web = await startWeb(api.origin, { PUBLIC_URL, MEDIA_ORIGIN });
  });

  after(async () => {
    await web?.stop();
    if (api) await closeServer(api.server);
  });

  test("every script on a page carries this request's nonce, and each request gets a new one", async () => {
    const nonces = [];
    for (let i = 0; i < 2; i += 1) {
      const response = await fetch(`${web.url}/`);
      assert.equal(response.status, 200);
      const policy = directives(response.headers.get("content-security-policy"));
      const nonce = /^'nonce-(.+)'$/.exec(policy.get("script-src").find((v) => v.startsWith("'nonce-")))[1];
      const html = await response.text();
      const scripts = scriptNonces(html);
      assert.ok(scripts.length > 0, "the page has scripts");
      assert.deepEqual(new Set(scripts), new Set([nonce]));
      nonces.push(nonce);
    }
    assert.notEqual(nonces[0], nonces[1]);
  });

  test("pages refuse framing, allow media from MEDIA_ORIGIN, and send the fixed headers", async () => {
    const response = await fetch(`${web.url}/login?next=/credits`);
    assert.equal(response.status, 200);
    const policy = directives(response.headers.get("content-security-policy"));
    assert.deepEqual(policy.get("frame-ancestors"), ["'none'"]);
    assert.ok(policy.get("media-src").includes(MEDIA_ORIGIN));
    assert.ok(policy.get("img-src").includes(MEDIA_ORIGIN));
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("referrer-policy"), "strict-origin-when-cross-origin");
    assert.match(response.headers.get("permissions-policy"), /camera=\(\)/);
    assert.match(response.headers.get("strict-transport-security"), /max-age=\d+/);
  });

  test("proxied API answers get the fixed headers too", async () => {
    const response = await fetch(`${web.url}/api/echo`);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("referrer-policy"), "strict-origin-when-cross-origin");
  });

  test("share-page links come from PUBLIC_URL, not from the Host a request claims", async () => {
    const response = await fetch(`${web.url}/v/s1`, { headers: { "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" } });
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /<meta property="og:url" content="https:\/\/echoes\.example\/v\/s1"\/>/);
    assert.match(html, /<link rel="canonical" href="https:\/\/echoes\.example\/v\/s1"\/>/);
    assert.doesNotMatch(html, /evil\.example/);
  });
});
