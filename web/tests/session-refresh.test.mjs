/** An expired access cookie is renewed once, shared by concurrent calls, then the call retried. */

import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { importTs } from "./load-ts.mjs";

const { isAccessTokenExpired, retryAfterRefresh, sharedRefresh } = await importTs("lib/api/refresh.ts");

class Problem extends Error {
  constructor(code, status = 401) {
    super(code);
    this.code = code;
    this.status = status;
  }
}

/** A call that fails with `firstError` until the session is renewed, then answers "data". */
function apiCall(state, firstError = new Problem("ACCESS_TOKEN_EXPIRED")) {
  return async () => {
    state.calls += 1;
    if (!state.renewed) throw firstError;
    return "data";
  };
}

describe("session refresh", () => {
  test("an expired access cookie is renewed and the call retried once", async () => {
    const state = { calls: 0, renewed: false, refreshes: 0 };
    const refresh = sharedRefresh(async () => {
      state.refreshes += 1;
      state.renewed = true;
      return true;
    });
    assert.equal(await retryAfterRefresh(apiCall(state), refresh), "data");
    assert.equal(state.calls, 2);
    assert.equal(state.refreshes, 1);
  });

  test("concurrent failures share one refresh", async () => {
    const state = { calls: 0, renewed: false, refreshes: 0 };
    let release;
    const gate = new Promise((resolve) => (release = resolve));
    const refresh = sharedRefresh(async () => {
      state.refreshes += 1;
      await gate;
      state.renewed = true;
      return true;
    });
    const pending = Promise.all([1, 2, 3, 4, 5].map(() => retryAfterRefresh(apiCall(state), refresh)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    release();
    assert.deepEqual(await pending, ["data", "data", "data", "data", "data"]);
    assert.equal(state.refreshes, 1);
  });

  test("a refresh after the last one settled starts a new one", async () => {
    let refreshes = 0;
    const refresh = sharedRefresh(async () => {
      refreshes += 1;
      return true;
    });
    await refresh();
    await refresh();
    assert.equal(refreshes, 2);
  });

  test("when the session is over the original error is thrown and the call is not retried", async () => {
    const state = { calls: 0, renewed: false };
    const original = new Problem("ACCESS_TOKEN_EXPIRED");
    await assert.rejects(retryAfterRefresh(apiCall(state, original), sharedRefresh(async () => false)), (error) => error === original);
    assert.equal(state.calls, 1);
  });

  test("a refresh that fails outright also throws the original error", async () => {
    const state = { calls: 0, renewed: false };
    const original = new Problem("ACCESS_TOKEN_EXPIRED");
    const refresh = sharedRefresh(async () => {
      throw new Error("network down");
    });
    await assert.rejects(retryAfterRefresh(apiCall(state, original), refresh), (error) => error === original);
  });

  test("other errors are thrown without a refresh", async () => {
    const state = { calls: 0, renewed: false };
    let refreshes = 0;
    const refresh = sharedRefresh(async () => {
      refreshes += 1;
      return true;
    });
    const notSignedIn = new Problem("NOT_AUTHENTICATED");
    await assert.rejects(retryAfterRefresh(apiCall(state, notSignedIn), refresh), (error) => error === notSignedIn);
    assert.equal(refreshes, 0);
    assert.equal(state.calls, 1);
  });

  test("only the ACCESS_TOKEN_EXPIRED code counts as expired", () => {
    assert.equal(isAccessTokenExpired(new Problem("ACCESS_TOKEN_EXPIRED")), true);
    assert.equal(isAccessTokenExpired(new Problem("NOT_AUTHENTICATED")), false);
    assert.equal(isAccessTokenExpired(null), false);
    assert.equal(isAccessTokenExpired("ACCESS_TOKEN_EXPIRED"), false);
  });
});
