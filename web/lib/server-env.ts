/**
 * The web server's runtime settings, read from the environment in this one place.
 *
 * Values are read when a request needs them, not when the module loads, so a build made
 * once can be pointed at any API with `API_ORIGIN=... npm run start`.
 */

const DEFAULT_API_ORIGIN = "http://127.0.0.1:8000";

/** The origin (`scheme://host[:port]`) of the Echoes API that `/api` and `/media` proxy to. */
export function apiOrigin(): string {
  const configured = process.env.API_ORIGIN?.trim() || DEFAULT_API_ORIGIN;
  let url: URL;
  try {
    url = new URL(configured);
  } catch {
    throw new Error(`API_ORIGIN must be an absolute http(s) URL, got ${JSON.stringify(configured)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`API_ORIGIN must use http or https, got ${JSON.stringify(configured)}`);
  }
  if (url.pathname !== "/" || url.search || url.hash) {
    throw new Error(`API_ORIGIN must be an origin without a path, got ${JSON.stringify(configured)}`);
  }
  return url.origin;
}
