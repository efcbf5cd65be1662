/**
 * Log out without JavaScript: the account menu's form posts here. The API wants its CSRF
 * header on the logout call; this handler sends the browser's own token cookie as that header
 * after checking the post came from this site (Origin or Sec-Fetch-Site), which is the
 * protection the header stands for. Both session cookies are cleared here too (the API's own
 * Set-Cookie is forwarded as well), so logging out works even when the API can't be reached.
 */

import { forwardedHeaders } from "@/lib/api/server";
import { apiOrigin } from "@/lib/server-env";

export const dynamic = "force-dynamic";

const CSRF_COOKIE = "echoes_csrf";

function cameFromThisSite(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  if (site) return site === "same-origin";
  const origin = request.headers.get("origin");
  const host = request.headers.get("x-forwarded-host") ?? request.headers.get("host");
  return origin !== null && host !== null && new URL(origin).host === host;
}

function csrfToken(cookieHeader: string | null): string | null {
  for (const part of (cookieHeader ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CSRF_COOKIE) return value.join("=");
  }
  return null;
}

export async function POST(request: Request): Promise<Response> {
  const headers = new Headers({ location: "/", "cache-control": "no-store" });
  if (!cameFromThisSite(request)) return new Response(null, { status: 303, headers });
  const token = csrfToken(request.headers.get("cookie"));
  if (token) {
    const upstreamHeaders = forwardedHeaders(request.headers);
    upstreamHeaders.set("x-csrf-token", token);
    try {
      const upstream = await fetch(new URL("/api/auth/logout", apiOrigin()), { method: "POST", headers: upstreamHeaders, redirect: "manual" });
      for (const cookie of upstream.headers.getSetCookie()) headers.append("set-cookie", cookie);
    } catch {
      // The session cookie is cleared below whatever the API said.
    }
  }
  headers.append("set-cookie", "echoes_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
  // The refresh cookie is scoped to its path; clearing it needs the same path.
  headers.append("set-cookie", "echoes_refresh=; Path=/api/auth/refresh; Max-Age=0; HttpOnly; SameSite=Lax");
  return new Response(null, { status: 303, headers });
}
