/** The Content-Security-Policy and fixed security headers every page is sent with. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importTs } from "./load-ts.mjs";

const { contentSecurityPolicy, fixedSecurityHeaders, newNonce } = await importTs("lib/security-headers.ts");

function directives(policy) {
  return new Map(policy.split(";").map((part) => {
    const [name, ...values] = part.trim().split(/\s+/);
    return [name, values];
  }));
}

describe("contentSecurityPolicy", () => {
  test("lets only scripts with this request's nonce run, and nothing frame the page", () => {
    const policy = directives(contentSecurityPolicy({ nonce: "abc123==", mediaOrigins: [], development: false, httpsOnly: true }));
    assert.deepEqual(policy.get("script-src"), ["'self'", "'nonce-abc123=='", "'strict-dynamic'"]);
    assert.deepEqual(policy.get("frame-ancestors"), ["'none'"]);
    assert.deepEqual(policy.get("object-src"), ["'none'"]);
    assert.deepEqual(policy.get("base-uri"), ["'self'"]);
    assert.deepEqual(policy.get("form-action"), ["'self'"]);
    assert.ok(policy.has("upgrade-insecure-requests"));
    assert.ok(!policy.get("script-src").includes("'unsafe-inline'"));
    assert.ok(!policy.get("script-src").includes("'unsafe-eval'"));
  });

  test("allows photos and videos from this origin and the media store", () => {
    const policy = directives(contentSecurityPolicy({ nonce: "n", mediaOrigins: ["https://media.example"], development: false, httpsOnly: true }));
    for (const name of ["img-src", "media-src"]) {
      assert.deepEqual(policy.get(name), ["'self'", "blob:", "data:", "https://media.example"]);
    }
    assert.deepEqual(policy.get("connect-src"), ["'self'", "https://media.example"]);
  });

  test("only the development server gets eval and websockets", () => {
    const policy = directives(contentSecurityPolicy({ nonce: "n", mediaOrigins: [], development: true, httpsOnly: false }));
    assert.ok(policy.get("script-src").includes("'unsafe-eval'"));
    assert.deepEqual(policy.get("connect-src"), ["'self'", "ws:", "wss:"]);
    assert.ok(!policy.has("upgrade-insecure-requests"));
  });

  test("asks browsers to upgrade http loads only when the site is served over https", () => {
    const plain = directives(contentSecurityPolicy({ nonce: "n", mediaOrigins: [], development: false, httpsOnly: false }));
    assert.equal(plain.has("upgrade-insecure-requests"), false);
  });
});

describe("newNonce", () => {
  test("is 128 random bits in base64, new each time", () => {
    const nonces = new Set(Array.from({ length: 100 }, () => newNonce()));
    assert.equal(nonces.size, 100);
    for (const nonce of nonces) assert.equal(Buffer.from(nonce, "base64").length, 16);
  });
});

describe("fixedSecurityHeaders", () => {
  test("production builds add HSTS; development does not", () => {
    const production = new Map(fixedSecurityHeaders({ production: true }).map(({ key, value }) => [key, value]));
    const development = new Map(fixedSecurityHeaders({ production: false }).map(({ key, value }) => [key, value]));
    assert.match(production.get("Strict-Transport-Security"), /^max-age=31536000/);
    assert.equal(development.has("Strict-Transport-Security"), false);
    for (const headers of [production, development]) {
      assert.equal(headers.get("X-Content-Type-Options"), "nosniff");
      assert.equal(headers.get("Referrer-Policy"), "strict-origin-when-cross-origin");
      assert.match(headers.get("Permissions-Policy"), /camera=\(\)/);
    }
  });
});
