/**
 * Runs before every page:
 *
 * - keeps a referral code from the link someone arrived by (`?ref=CODE` on any page) in a
 *   cookie, so it is still there when they sign up — after a free try, a look at the
 *   pricing, or a day later. The sign-up form offers it prefilled; the API decides whether
 *   it counts;
 * - tells server components which path was asked for (`x-echoes-path`), so a page that
 *   needs an account can send a visitor to log in and then back to it.
 */

import { NextResponse, type NextRequest } from "next/server";

import { REFERRAL_COOKIE, REFERRAL_MAX_AGE_SECONDS, cleanReferralCode } from "@/lib/referral";
import { PATH_HEADER } from "@/lib/request-path";

export function proxy(request: NextRequest) {
  const code = cleanReferralCode(request.nextUrl.searchParams.get("ref"));
  const headers = new Headers(request.headers);
  headers.set(PATH_HEADER, request.nextUrl.pathname + request.nextUrl.search);
  const response = NextResponse.next({ request: { headers } });
  if (code && request.cookies.get(REFERRAL_COOKIE)?.value !== code) {
    response.cookies.set(REFERRAL_COOKIE, code, { path: "/", maxAge: REFERRAL_MAX_AGE_SECONDS, sameSite: "lax", httpOnly: true });
  }
  return response;
}

export const config = {
  // Pages only: not the API and media proxies, Next's own files, or static assets.
  matcher: ["/((?!api/|media/|_next/|sw\\.js|manifest\\.webmanifest|icons/|samples/|icon\\.svg|favicon).*)"],
};
