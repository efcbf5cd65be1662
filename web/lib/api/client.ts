/**
 * The browser's typed client for the Echoes API, through the same-origin `/api` proxy.
 *
 * `api` is openapi-fetch over the generated schema, so every path, parameter and body is
 * checked against the API at build time. Unsafe methods carry the CSRF token (double submit:
 * the `echoes_csrf` cookie's value in the `x-csrf-token` header). `request()` unwraps an answer
 * into its data or an {@link ApiError}, retries once with a fresh token when the API says
 * the CSRF check failed, and renews the session (one shared `POST /api/auth/refresh`) and
 * retries once when the access cookie expired. `withUploadProgress()` swaps fetch for XMLHttpRequest on one call,
 * because fetch reports no upload progress in browsers.
 */

import createClient, { type Middleware } from "openapi-fetch";

import { unwrap, type FetchResult } from "./call";
import { ApiError } from "./problems";
import { retryAfterRefresh, sharedRefresh } from "./refresh";
import type { paths } from "./schema";

const CSRF_COOKIE = "echoes_csrf";
const CSRF_HEADER = "x-csrf-token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

let csrfToken: Promise<string> | null = null;

function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return decodeURIComponent(value.join("="));
  }
  return null;
}

async function fetchCsrfToken(): Promise<string> {
  const response = await fetch("/api/auth/csrf", { headers: { accept: "application/json" }, cache: "no-store", credentials: "same-origin" });
  if (!response.ok) throw new Error(`CSRF token request failed with ${response.status}`);
  const body = (await response.json()) as paths["/api/auth/csrf"]["get"]["responses"][200]["content"]["application/json"];
  return body.token;
}

/** The token to send: the cookie's value when the browser has one, else one asked for. */
function currentCsrfToken(): Promise<string> {
  const fromCookie = readCookie(CSRF_COOKIE);
  if (fromCookie) return Promise.resolve(fromCookie);
  csrfToken ??= fetchCsrfToken().catch((error: unknown) => {
    csrfToken = null;
    throw error;
  });
  return csrfToken;
}

const csrfMiddleware: Middleware = {
  async onRequest({ request }) {
    if (SAFE_METHODS.has(request.method) || request.headers.has(CSRF_HEADER)) return undefined;
    request.headers.set(CSRF_HEADER, await currentCsrfToken());
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: "",
  credentials: "same-origin",
  headers: { accept: "application/json" },
});
api.use(csrfMiddleware);

/** Runs `call`, retrying it once with a fresh CSRF token when the API refused the token. */
async function withCsrfRetry<Data>(call: () => Promise<FetchResult<Data>>): Promise<Data> {
  try {
    return await unwrap(call());
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "CSRF_FAILED") throw error;
    csrfToken = null;
    document.cookie = `${CSRF_COOKIE}=; Max-Age=0; Path=/`;
    return unwrap(call());
  }
}

/**
 * Renews the session cookies: true when the API set new ones, false when the session is over
 * (401). Concurrent callers share one request. Other failures are thrown.
 */
export const refreshSession: () => Promise<boolean> = sharedRefresh(async () => {
  try {
    await withCsrfRetry(() => api.POST("/api/auth/refresh"));
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return false;
    throw error;
  }
});

/**
 * Runs `call` (a function making one `api` request) and returns its data, or throws an
 * {@link ApiError}. A CSRF failure (the token cookie expired or was cleared) is retried once;
 * an expired access cookie is renewed and the call retried once, and when the session can't
 * be renewed the original 401 is thrown.
 */
export function request<Data>(call: () => Promise<FetchResult<Data>>): Promise<Data> {
  return retryAfterRefresh(() => withCsrfRetry(call), refreshSession);
}

function parseResponseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * A fetch for openapi-fetch's per-request `fetch` option that sends with XMLHttpRequest and
 * reports upload progress (0..1) as the body goes out.
 *
 * Pass the call's {@link multipart} body as `form` too: XMLHttpRequest then sends that form
 * itself (the browser streams the files) instead of a copy read back from the request.
 */
export function withUploadProgress(onProgress: (fraction: number) => void, form?: object): (request: Request) => Promise<Response> {
  return async (request: Request) => {
    const body = form instanceof FormData ? form : request.method === "GET" || request.method === "HEAD" ? null : await request.blob();
    return new Promise<Response>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(request.method, request.url);
      xhr.responseType = "blob";
      xhr.withCredentials = true;
      // A FormData body gets its own multipart boundary from XMLHttpRequest: the Request's
      // content-type names the boundary of a different serialisation, so it must not go along.
      request.headers.forEach((value, name) => {
        if (!(body instanceof FormData && name.toLowerCase() === "content-type")) xhr.setRequestHeader(name, value);
      });
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        const status = xhr.status;
        const nullBody = status === 204 || status === 205 || status === 304;
        resolve(
          new Response(nullBody ? null : (xhr.response as Blob), {
            status,
            statusText: xhr.statusText,
            headers: parseResponseHeaders(xhr.getAllResponseHeaders()),
          }),
        );
      };
      xhr.onerror = () => reject(new TypeError("Network request failed"));
      xhr.onabort = () => reject(new DOMException("Upload aborted", "AbortError"));
      if (request.signal.aborted) {
        reject(new DOMException("Upload aborted", "AbortError"));
        return;
      }
      request.signal.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(body);
    });
  };
}

/**
 * A multipart body for a typed call. The schema types file fields as strings (base64 in
 * JSON terms); in the browser they are Files, sent as FormData, which openapi-fetch passes
 * through untouched so the browser sets the multipart boundary itself.
 */
export function multipart<Body extends object>(fields: { [Name in keyof Body]: Blob | string | (Blob | string)[] }): Body {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields) as [string, Blob | string | (Blob | string)[]][]) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item instanceof File) form.append(name, item, item.name);
      else form.append(name, item);
    }
  }
  return form as unknown as Body;
}

/** Forget the cached CSRF token (after logging out, the next person starts fresh). */
export function resetClientState(): void {
  csrfToken = null;
}
