/**
 * The free try without JavaScript: the landing page's form posts here (multipart, field
 * `photo`). The body streams on to `POST /api/try` unparsed; the visitor cookie the API sets
 * comes back to the browser, which is sent on with a 303 to the status page `/try/{id}`.
 * A refusal (too large, not a photo, already used today) goes to `/try/failed` with the API's
 * sentence in a short-lived cookie.
 */

import { forwardedHeaders } from "@/lib/api/server";
import { problemFromResponse } from "@/lib/api/problems";
import { apiOrigin } from "@/lib/server-env";
import { TRY_PROBLEM_COOKIE, TRY_PROBLEM_MAX_AGE_SECONDS, encodeTryProblem } from "@/lib/try-problem-cookie";

export const dynamic = "force-dynamic";

/** The API's photo limit plus room for the multipart framing; larger posts are refused here. */
const MAX_POST_BYTES = 25 * 1024 * 1024 + 64 * 1024;

function seeOther(location: string, cookies: string[]): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 303, headers });
}

function problemCookie(code: string, detail: string, retryAfter?: number): string {
  const value = encodeTryProblem({ code, detail, retryAfter });
  return `${TRY_PROBLEM_COOKIE}=${value}; Path=/try; Max-Age=${TRY_PROBLEM_MAX_AGE_SECONDS}; HttpOnly; SameSite=Lax`;
}

export async function POST(request: Request): Promise<Response> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.startsWith("multipart/form-data") || !request.body) {
    return seeOther("/try/failed", [problemCookie("INVALID_INPUT", "Please choose a photo to upload, then press “Bring it to life”.")]);
  }
  if (Number(request.headers.get("content-length")) > MAX_POST_BYTES) {
    return seeOther("/try/failed", [problemCookie("UPLOAD_TOO_LARGE", "That photo is larger than 25 MB. Please choose a smaller one.")]);
  }
  const headers = forwardedHeaders(request.headers);
  headers.set("content-type", contentType);
  // The API refuses a post that another site's page sent; it can only tell from these.
  for (const name of ["origin", "sec-fetch-site"]) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }

  let upstream: Response;
  try {
    upstream = await fetch(new URL("/api/try", apiOrigin()), {
      method: "POST",
      headers,
      body: request.body,
      duplex: "half",
      redirect: "manual",
      signal: request.signal,
    } as RequestInit & { duplex: "half" });
  } catch {
    return seeOther("/try/failed", [problemCookie("SERVICE_UNAVAILABLE", "Echoes can't reach its server right now. Please try again in a moment.")]);
  }

  const cookies = upstream.headers.getSetCookie();
  const text = await upstream.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (upstream.ok && body && typeof (body as { id?: unknown }).id === "string") {
    return seeOther(`/try/${encodeURIComponent((body as { id: string }).id)}`, cookies);
  }
  const problem = problemFromResponse(upstream.status, upstream.statusText, body, upstream.headers.get("retry-after"));
  return seeOther("/try/failed", [...cookies, problemCookie(problem.code ?? "INVALID_INPUT", problem.detail ?? "", problem.retryAfter)]);
}
