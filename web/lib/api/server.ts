/**
 * The typed API client for server components and route handlers.
 *
 * Calls go straight to `API_ORIGIN` (read per request), carrying the visitor's cookies and
 * forwarding headers, so the API sees the same person and address as it does through the
 * `/api` proxy. Only safe methods are used from here, except the no-JavaScript free try,
 * whose route is exempt from CSRF.
 */

import { headers } from "next/headers";
import { redirect } from "next/navigation";
import createClient from "openapi-fetch";
import { cache } from "react";

import { apiOrigin } from "@/lib/server-env";

import { unwrap } from "./call";
import { ApiError } from "./problems";
import { ACCESS_TOKEN_EXPIRED } from "./refresh";
import type { paths } from "./schema";
import type { Me } from "./types";

/** Request headers that identify the visitor to the API. */
const FORWARDED_HEADERS = ["cookie", "x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "x-forwarded-proto", "user-agent", "accept-language"];

/** The headers to send upstream on behalf of the request being answered. */
export function forwardedHeaders(incoming: Headers): Headers {
  const outgoing = new Headers({ accept: "application/json" });
  for (const name of FORWARDED_HEADERS) {
    const value = incoming.get(name);
    if (value) outgoing.set(name, value);
  }
  return outgoing;
}

/** A client acting for the visitor of the current request. */
export async function serverApi() {
  return createClient<paths>({
    baseUrl: apiOrigin(),
    headers: forwardedHeaders(await headers()),
    cache: "no-store",
    redirect: "manual",
  });
}

/**
 * Who is asking: a signed-in person, a visitor, or someone whose access cookie expired. The
 * last can't be renewed here (the refresh cookie is only ever sent to `/api/auth/refresh`,
 * never to this server), so pages render `<RenewSession />`, which renews it in the browser.
 */
export type SessionState = { status: "signed-in"; user: Me } | { status: "expired" | "visitor"; user: null };

/**
 * The {@link SessionState} of this request. Cached for the request, so the header and the page
 * share one `GET /api/me`. Other failures (the API is down) are thrown.
 */
export const getSessionState = cache(async (): Promise<SessionState> => {
  const api = await serverApi();
  try {
    return { status: "signed-in", user: await unwrap(api.GET("/api/me")) };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { status: error.code === ACCESS_TOKEN_EXPIRED ? "expired" : "visitor", user: null };
    throw error;
  }
});

/** The signed-in person, or null for a visitor and for an expired session (see {@link getSessionState}). */
export async function getSession(): Promise<Me | null> {
  return (await getSessionState()).user;
}

/**
 * Like {@link getSession}, for pages that need an account: visitors go to the log-in page.
 * Null means the access cookie expired: render `<RenewSession />` instead of the page.
 */
export async function requireUser(returnTo: string): Promise<Me | null> {
  const session = await getSessionState();
  if (session.status === "visitor") redirect(`/login?next=${encodeURIComponent(returnTo)}`);
  return session.user;
}

export { unwrap };
