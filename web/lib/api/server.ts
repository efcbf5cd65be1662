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
 * The signed-in person, or null for a visitor. Cached for the request, so the header and the
 * page share one `GET /api/me`. Other failures (the API is down) are thrown.
 */
export const getSession = cache(async (): Promise<Me | null> => {
  const api = await serverApi();
  try {
    return await unwrap(api.GET("/api/me"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
});

/** Like {@link getSession}, for pages that need an account: visitors go to the log-in page. */
export async function requireUser(returnTo: string): Promise<Me> {
  const user = await getSession();
  if (!user) redirect(`/login?next=${encodeURIComponent(returnTo)}`);
  return user;
}

export { unwrap };
