/**
 * The security headers of every page. `proxy.ts` sends the Content-Security-Policy with a
 * fresh nonce per request (Next reads the nonce back from the request's CSP header and puts
 * it on its own scripts); `next.config.ts` adds the fixed headers to every other answer too.
 *
 * Self-contained on purpose (no `@/` imports): next.config.ts and the tests load it directly.
 */

export type CspOptions = {
  /** This request's nonce (base64), the only way an inline or loaded script may run. */
  nonce: string;
  /** Origins besides our own that serve media (the object store's presigned URLs). */
  mediaOrigins: readonly string[];
  /** `next dev` needs `eval` for React's debugging and Fast Refresh's websocket. */
  development: boolean;
  /** The site is served over https (`PUBLIC_URL`): have browsers upgrade stray http loads. */
  httpsOnly: boolean;
};

/** A new nonce: 128 random bits, base64. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}

/**
 * The policy. Scripts need the nonce (`strict-dynamic` lets Next's own chunks load);
 * styles allow inline `style` attributes (React sets them for progress bars and previews),
 * which cannot carry a nonce. Photos and videos come from this origin (`/media`, `blob:`
 * previews of photos being uploaded) or the media store.
 */
export function contentSecurityPolicy({ nonce, mediaOrigins, development, httpsOnly }: CspOptions): string {
  const media = ["'self'", "blob:", "data:", ...mediaOrigins].join(" ");
  const directives = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'${development ? " 'unsafe-eval'" : ""}`,
    "style-src 'self' 'unsafe-inline'",
    `img-src ${media}`,
    `media-src ${media}`,
    `connect-src 'self' ${mediaOrigins.join(" ")}${development ? " ws: wss:" : ""}`.trimEnd(),
    "font-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    ...(httpsOnly ? ["upgrade-insecure-requests"] : []),
  ];
  return directives.join("; ");
}

/** One year, the minimum the HSTS preload list accepts. */
const HSTS_MAX_AGE_SECONDS = 31_536_000;

/** Headers that do not change per request, for every answer of the web app. */
export function fixedSecurityHeaders({ production }: { production: boolean }): { key: string; value: string }[] {
  const headers = [
    { key: "X-Content-Type-Options", value: "nosniff" },
    { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
    { key: "X-Frame-Options", value: "DENY" },
    { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
    {
      key: "Permissions-Policy",
      value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    },
  ];
  if (production) headers.push({ key: "Strict-Transport-Security", value: `max-age=${HSTS_MAX_AGE_SECONDS}; includeSubDomains` });
  return headers;
}
