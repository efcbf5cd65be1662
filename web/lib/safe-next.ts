/** Any address we resolve a candidate against; only its origin matters. */
const PROBE_ORIGIN = "https://echoes.invalid";

/**
 * Characters that never belong in a path we send people to. Browsers drop tab, CR and LF
 * from URLs and read `\` as `/`, so `/\tevil.example` or `/\evil.example` would become the
 * protocol-relative `//evil.example`.
 */
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/** How many layers of percent-encoding are peeled off to look for a disguised `//` or `\`. */
const MAX_DECODES = 3;

function unsafeWhenDecoded(value: string): boolean {
  let current = value;
  for (let layer = 0; layer < MAX_DECODES; layer += 1) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return true;
    }
    if (decoded === current) return false;
    if (FORBIDDEN.test(decoded) || decoded.startsWith("//")) return true;
    current = decoded;
  }
  return current.includes("%");
}

/**
 * A `?next=` destination, kept only if it is a path on this site (no open redirects):
 * it must start with a single `/`, contain no control characters or backslashes, not turn
 * into `//host` or `\host` once percent-decoded, and resolve to this origin. Anything
 * else, including `javascript:` and absolute or protocol-relative URLs, gives `fallback`.
 */
export function safeNextPath(raw: string | string[] | null | undefined, fallback = "/dashboard"): string {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (!value || !value.startsWith("/") || value.startsWith("//")) return fallback;
  if (FORBIDDEN.test(value) || unsafeWhenDecoded(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, PROBE_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PROBE_ORIGIN) return fallback;
  return url.pathname + url.search + url.hash;
}
