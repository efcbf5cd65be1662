/** `?next=` only ever sends people to a path on this site (no open redirects). */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importTs } from "./load-ts.mjs";

const { safeNextPath } = await importTs("lib/safe-next.ts");
const FALLBACK = "/dashboard";

const KEPT = [
  ["/dashboard", "/dashboard"],
  ["/projects/0193a4b2-7c1d-7e00-8000-000000000001", "/projects/0193a4b2-7c1d-7e00-8000-000000000001"],
  ["/credits?pack=20#ledger", "/credits?pack=20#ledger"],
  ["/try/abc?claimed=1", "/try/abc?claimed=1"],
  ["/settings/", "/settings/"],
  ["/projects/a/../b", "/projects/b"],
  ["/a%20b", "/a%20b"],
];

const REFUSED = [
  ["empty", ""],
  ["missing", undefined],
  ["null", null],
  ["relative path", "dashboard"],
  ["protocol-relative", "//evil.example"],
  ["protocol-relative with path", "//evil.example/dashboard"],
  ["triple slash", "///evil.example"],
  ["backslash after slash", "/\\evil.example"],
  ["backslash later", "/foo\\..\\\\evil.example"],
  ["two backslashes", "\\\\evil.example"],
  ["tab between slashes", "/\t/evil.example"],
  ["newline between slashes", "/\n/evil.example"],
  ["carriage return between slashes", "/\r/evil.example"],
  ["leading tab", "\t//evil.example"],
  ["NUL", "/\u0000/evil.example"],
  ["DEL", "/\u007f/evil.example"],
  ["encoded slashes", "/%2f%2fevil.example"],
  ["encoded slashes, upper case", "/%2F%2Fevil.example"],
  ["encoded slashes at start", "%2f%2fevil.example"],
  ["encoded backslash", "/%5cevil.example"],
  ["encoded backslash, upper case", "/%5Cevil.example"],
  ["encoded tab", "/%09/evil.example"],
  ["encoded newline", "/%0a/evil.example"],
  ["encoded carriage return", "/%0d/evil.example"],
  ["double-encoded slashes", "/%252f%252fevil.example"],
  ["double-encoded backslash", "/%255cevil.example"],
  ["broken encoding", "/%zz"],
  ["javascript:", "javascript:alert(1)"],
  ["javascript: with spaces", " javascript:alert(1)"],
  ["data:", "data:text/html,<script>alert(1)</script>"],
  ["absolute https", "https://evil.example/dashboard"],
  ["absolute http", "http://evil.example"],
  ["scheme-relative with credentials", "//user@evil.example"],
  ["leading space", " /dashboard"],
];

describe("safeNextPath", () => {
  for (const [input, expected] of KEPT) {
    test(`keeps the same-site path ${JSON.stringify(input)}`, () => {
      assert.equal(safeNextPath(input), expected);
    });
  }

  for (const [name, input] of REFUSED) {
    test(`refuses ${name} (${JSON.stringify(input)})`, () => {
      assert.equal(safeNextPath(input), FALLBACK);
    });
  }

  test("takes the first of repeated parameters", () => {
    assert.equal(safeNextPath(["/credits", "//evil.example"]), "/credits");
    assert.equal(safeNextPath(["//evil.example", "/credits"]), FALLBACK);
  });

  test("uses the caller's fallback", () => {
    assert.equal(safeNextPath("//evil.example", "/"), "/");
  });
});
