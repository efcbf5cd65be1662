/**
 * Same-origin reverse proxy from the web app to the Echoes API.
 *
 * The browser only ever talks to the web app, so the API's session and visitor cookies stay
 * first-party. A Route Handler is used rather than `rewrites()` in next.config because
 * rewrites are written into the build manifest: the API origin has to be chosen when the
 * server starts, not when it was built. Bodies stream both ways (multipart uploads go up
 * without being buffered; Server-Sent Events come down as they are written).
 */

import { upstreamUrl } from "@/lib/proxy-target";
import { apiOrigin } from "@/lib/server-env";

/** Headers that describe one connection, not the message, and so never cross a proxy. */
const HOP_BY_HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Request headers the outgoing fetch sets itself (or refuses to be given). */
const REQUEST_HEADERS_SET_BY_FETCH = new Set(["host", "expect", "accept-encoding"]);

/** Codings that Node's fetch decodes on its own; the body we pass on is then plain. */
const CODINGS_DECODED_BY_FETCH = new Set(["gzip", "x-gzip", "deflate", "br"]);

function connectionScopedNames(headers: Headers): Set<string> {
  const names = new Set(HOP_BY_HOP_HEADERS);
  for (const token of (headers.get("connection") ?? "").split(",")) {
    const name = token.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

function upstreamRequestHeaders(request: Request): Headers {
  const dropped = connectionScopedNames(request.headers);
  const headers = new Headers();
  for (const [name, value] of request.headers) {
    if (!dropped.has(name) && !REQUEST_HEADERS_SET_BY_FETCH.has(name)) {
      headers.append(name, value);
    }
  }
  // The hop to the API is local: take bodies as stored rather than have fetch decompress
  // them here; Next compresses what it sends to the browser where that helps.
  headers.set("accept-encoding", "identity");
  // x-forwarded-host/-port/-proto are already on the request (Next's server adds them when
  // absent) and x-forwarded-for carries the visitor's address (appended by server.mjs).
  return headers;
}

function downstreamResponseHeaders(upstream: Response): Headers {
  const dropped = connectionScopedNames(upstream.headers);
  const coding = upstream.headers.get("content-encoding")?.trim().toLowerCase();
  if (coding && CODINGS_DECODED_BY_FETCH.has(coding)) {
    dropped.add("content-encoding");
    dropped.add("content-length");
  }
  const headers = new Headers();
  // Iterating Headers yields each Set-Cookie on its own, so several cookies survive intact.
  // (Next drops Content-Length from Route Handler answers whatever we pass; ranged media
  // still carries its size in Content-Range.)
  for (const [name, value] of upstream.headers) {
    if (!dropped.has(name)) headers.append(name, value);
  }
  return headers;
}

function serviceUnavailable(): Response {
  return Response.json(
    {
      type: "about:blank",
      title: "Service Unavailable",
      status: 503,
      detail: "Echoes can't reach its server right now. Please try again in a moment.",
      code: "SERVICE_UNAVAILABLE",
    },
    { status: 503, headers: { "content-type": "application/problem+json", "retry-after": "5" } },
  );
}

function notFound(): Response {
  return Response.json(
    { type: "about:blank", title: "Not Found", status: 404, detail: "There is nothing at this address.", code: "NOT_FOUND" },
    { status: 404, headers: { "content-type": "application/problem+json" } },
  );
}

/** Forwards `request` to the same path and query on the API and streams the answer back. */
export async function proxyToApi(request: Request): Promise<Response> {
  const incoming = new URL(request.url);
  const origin = apiOrigin();
  const target = upstreamUrl(origin, incoming);
  if (!target) return notFound();
  const hasBody = request.method !== "GET" && request.method !== "HEAD" && request.body !== null;

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers: upstreamRequestHeaders(request),
      body: hasBody ? request.body : null,
      // Required by Node's fetch to send a streamed body; the upload is not buffered.
      duplex: "half",
      redirect: "manual",
      signal: request.signal,
    } as RequestInit & { duplex: "half" });
  } catch (error) {
    if (request.signal.aborted) {
      // The browser went away; nobody is left to read an answer.
      return new Response(null, { status: 499 });
    }
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    console.error(`api-proxy: ${request.method} ${incoming.pathname} -> ${origin} failed: ${cause}`);
    return serviceUnavailable();
  }

  return new Response(upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: downstreamResponseHeaders(upstream),
  });
}
