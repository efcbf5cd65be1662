/**
 * The web server's runtime settings, read from the environment in this one place.
 *
 * Values are read when a request needs them, not when the module loads, so a build made
 * once can be pointed at any API with `API_ORIGIN=... npm run start`.
 */

const DEFAULT_API_ORIGIN = "http://127.0.0.1:8000";

const DEFAULT_PUBLIC_URL = "http://localhost:3000";

/** `value` as a bare http(s) origin, or an error naming the variable it came from. */
function parseOrigin(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`${name} must use http or https, got ${JSON.stringify(value)}`);
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
    throw new Error(`${name} must be an origin without a path, got ${JSON.stringify(value)}`);
  }
  return url.origin;
}

/** The origin (`scheme://host[:port]`) of the Echoes API that `/api` and `/media` proxy to. */
export function apiOrigin(): string {
  return parseOrigin("API_ORIGIN", process.env.API_ORIGIN?.trim() || DEFAULT_API_ORIGIN);
}

/**
 * Where people reach this web app (`PUBLIC_URL`, the same variable the API reads). Links
 * that leave the page (Open Graph, canonical URLs) are built from it, never from the
 * request's Host or X-Forwarded-* headers, which whoever sends the request chooses.
 */
export function publicOrigin(): string {
  return parseOrigin("PUBLIC_URL", (process.env.PUBLIC_URL?.trim() || DEFAULT_PUBLIC_URL).replace(/\/+$/, ""));
}

/**
 * Origins besides this one that serve photos and videos (`MEDIA_ORIGIN`, comma-separated):
 * the object store's public origin when media is served by presigned URLs straight from it.
 * Empty when media comes through `/media` on this origin.
 */
export function mediaOrigins(): string[] {
  return (process.env.MEDIA_ORIGIN ?? "")
    .split(",")
    .map((value) => value.trim())
    .filter(Boolean)
    .map((value) => parseOrigin("MEDIA_ORIGIN", value));
}
