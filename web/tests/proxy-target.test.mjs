/** The `/api` and `/media` proxy forwards only paths under those two trees, to API_ORIGIN. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importTs } from "./load-ts.mjs";

const { upstreamUrl } = await importTs("lib/proxy-target.ts");
const API = "http://127.0.0.1:8000";

/** What the route handler sees: the browser's URL as WHATWG URL parsing leaves it. */
const parsed = (raw) => new URL(raw, "http://web.test");
/** A path as it could arrive without a browser normalising it first. */
const raw = (pathname, search = "") => ({ pathname, search });

describe("upstreamUrl", () => {
  const forwarded = [
    ["/api/me", "http://127.0.0.1:8000/api/me"],
    ["/api/projects/p1/clips?page=2", "http://127.0.0.1:8000/api/projects/p1/clips?page=2"],
    ["/media/clips/abc.mp4?exp=1&sig=x%2By", "http://127.0.0.1:8000/media/clips/abc.mp4?exp=1&sig=x%2By"],
    ["/api/a%20b", "http://127.0.0.1:8000/api/a%20b"],
  ];
  for (const [path, expected] of forwarded) {
    test(`forwards ${path} to the same path on the API`, () => {
      assert.equal(upstreamUrl(API, parsed(path))?.href, expected);
    });
  }

  const refused = [
    ["the site root", parsed("/")],
    ["a page", parsed("/dashboard")],
    ["/api without a slash", parsed("/api")],
    ["/apis/", parsed("/apis/x")],
    ["a dot-dot segment resolved by the parser", parsed("/api/../admin")],
    ["an encoded dot-dot segment resolved by the parser", parsed("/api/%2e%2e/admin")],
    ["a raw dot-dot segment", raw("/api/../admin")],
    ["a raw single-dot segment", raw("/media/./x")],
    ["dot-dot behind an encoded slash", raw("/api/..%2f..%2fadmin")],
    ["dot-dot behind an encoded slash, upper case", raw("/media/x%2F..%2F..%2Fapi")],
    ["dot-dot behind an encoded backslash", raw("/api/..%5cadmin")],
    ["a backslash", raw("/api/a\\b")],
    ["an encoded prefix", raw("/%61pi/me")],
    ["an encoded NUL", raw("/api/a%00b")],
    ["broken percent-encoding", raw("/api/%zz")],
    ["a protocol-relative path", raw("//evil.example/api/me")],
  ];
  for (const [name, incoming] of refused) {
    test(`refuses ${name} (${incoming.pathname})`, () => {
      assert.equal(upstreamUrl(API, incoming), null);
    });
  }

  test("always answers on the configured origin", () => {
    const target = upstreamUrl(API, raw("/api/@evil.example/x"));
    assert.equal(target?.origin, API);
    assert.equal(target?.pathname, "/api/@evil.example/x");
  });
});
