/**
 * Runs before every page:
 *
 * - keeps a referral code from the link someone arrived by (`?ref=CODE` on any page) in a
 *   cookie, so it is still there when they sign up — after a free try, a look at the
 *   pricing, or a day later. The sign-up form offers it prefilled; the API decides whether
 *   it counts;
 * - tells server components which path was asked for (`x-echoes-path`), so a page that
 *   needs an account can send a visitor to log in and then back to it;
 * - sends the page's Content-Security-Policy with a nonce made for this request. The policy
 *   goes on the request too: Next reads the nonce from it and puts it on the scripts it
 *   renders (every page is rendered per request for this, see app/layout.tsx).
 */

import { NextResponse, type NextRequest } from "next/server";

import { REFERRAL_COOKIE, REFERRAL_MAX_AGE_SECONDS, cleanReferralCode } from "@/lib/referral";
import { PATH_HEADER } from "@/lib/request-path";
import { contentSecurityPolicy, newNonce } from "@/lib/security-headers";
import { mediaOrigins, publicOrigin } from "@/lib/server-env";

const CSP_HEADER = "Content-Security-Policy";

export function proxy(request: NextRequest) {
  const code = cleanReferralCode(request.nextUrl.searchParams.get("ref"));
  const policy = contentSecurityPolicy({
    nonce: newNonce(),
    mediaOrigins: mediaOrigins(),
    development: process.env.NODE_ENV === "development",
    httpsOnly: publicOrigin().startsWith("https:"),
  });
  const headers = new Headers(request.headers);
  headers.set(PATH_HEADER, request.nextUrl.pathname + request.nextUrl.search);
  headers.set(CSP_HEADER, policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set(CSP_HEADER, policy);
  if (code && request.cookies.get(REFERRAL_COOKIE)?.value !== code) {
    response.cookies.set(REFERRAL_COOKIE, code, { path: "/", maxAge: REFERRAL_MAX_AGE_SECONDS, sameSite: "lax", httpOnly: true });
  }
  return response;
}

export const config = {
  // Pages only: not the API and media proxies, Next's own files, or static assets.
  matcher: ["/((?!api/|media/|_next/|sw\\.js|manifest\\.webmanifest|icons/|samples/|icon\\.svg|favicon).*)"],
};
