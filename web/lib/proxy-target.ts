/**
 * Where the `/api` and `/media` proxy (lib/api-proxy.ts) may send a request. Self-contained
 * (no `@/` imports) so the tests can load it on its own.
 */

/** The only parts of the API that the browser may reach through this proxy. */
const PROXIED_PREFIXES = ["/api/", "/media/"];

/**
 * The API address for `incoming`: the configured origin plus the same path and query, and
 * only when the path lies under `/api/` or `/media/` and still does once percent-decoded
 * (no `.` or `..` segments, no backslashes), so no request can step out of those trees on
 * the API (`/api/%2e%2e/x`, `/media/..%2f..%2fadmin`). `null` when it may not be forwarded.
 */
export function upstreamUrl(origin: string, incoming: URL): URL | null {
  const path = incoming.pathname;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return null;
  }
  const prefix = PROXIED_PREFIXES.find((candidate) => path.startsWith(candidate) && decoded.startsWith(candidate));
  if (!prefix) return null;
  if (/[\\\u0000-\u001f]/.test(decoded)) return null;
  if (decoded.split("/").some((segment) => segment === "." || segment === "..")) return null;
  const target = new URL(origin);
  target.pathname = path;
  target.search = incoming.search;
  if (target.origin !== origin || target.pathname !== path) return null;
  return target;
}
