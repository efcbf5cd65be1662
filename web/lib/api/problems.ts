/**
 * API problems (RFC 9457 problem details with a stable `code`) turned into what a person
 * reads: a sentence, and where it helps, the one thing to do next.
 *
 * The API already writes its `detail` for people ("This needs 3 credits and you have 1. Buy 2
 * more to continue."), so that sentence is shown as it is. This module adds the action the
 * sentence points to (buy credits, log in, come back at 14:05) and a fallback sentence for
 * answers that carry no usable detail (a proxy's HTML error page, an empty body, no network).
 * Shared by server and browser code.
 */

import type { Problem } from "./types";

/**
 * A problem as the app holds it: the API's own `Problem` (the schema's error body), or one
 * this module makes for an answer that carried none (a proxy's HTML page, no network),
 * which may lack `type`, `code` and `detail`.
 */
export type ProblemDetails = Partial<Problem> & Pick<Problem, "title" | "status">;

/** A failed API call, carrying the problem details the API (or this module) described it with. */
export class ApiError extends Error {
  readonly problem: ProblemDetails;

  constructor(problem: ProblemDetails) {
    super(problem.detail || problem.title);
    this.name = "ApiError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string | undefined {
    return this.problem.code;
  }
}

const FALLBACK_BY_CODE: Record<string, string> = {
  INSUFFICIENT_CREDITS: "You don't have enough credits for this. Buy a pack to continue.",
  RATE_LIMITED: "Too many tries for now. Please wait a little and try again.",
  UPLOAD_TOO_LARGE: "That file is too large to upload. Please choose a smaller one (up to 25 MB).",
  UNSUPPORTED_MEDIA: "That file isn't one we can use. Please choose a JPEG, PNG, WebP or HEIC photo.",
  NOT_AUTHENTICATED: "Please log in to continue.",
  FORBIDDEN: "You don't have access to this.",
  NOT_FOUND: "We couldn't find that. It may have been deleted.",
  CSRF_FAILED: "Your session needs refreshing. Please reload the page and try again.",
  SERVICE_UNAVAILABLE: "Echoes can't reach its server right now. Please try again in a moment.",
  GENERATION_FAILED: "We couldn't bring this photo to life. Please try again, or try another photo.",
  NETWORK_ERROR: "We couldn't reach Echoes. Check your connection and try again.",
};

const FALLBACK_BY_STATUS: Record<number, string> = {
  402: FALLBACK_BY_CODE.INSUFFICIENT_CREDITS!,
  413: FALLBACK_BY_CODE.UPLOAD_TOO_LARGE!,
  415: FALLBACK_BY_CODE.UNSUPPORTED_MEDIA!,
  429: FALLBACK_BY_CODE.RATE_LIMITED!,
  502: "Echoes' server had a problem answering. Please try again in a moment.",
  503: FALLBACK_BY_CODE.SERVICE_UNAVAILABLE!,
  504: "Echoes' server took too long to answer. Please try again in a moment.",
};

const GENERIC = "Something went wrong on our side. Please try again.";

function isProblemDetails(value: unknown): value is ProblemDetails {
  return typeof value === "object" && value !== null && typeof (value as ProblemDetails).status === "number";
}

/**
 * The problem for a non-2xx answer. The API sends `application/problem+json`; anything else
 * becomes a generic problem for that status so callers always get a sentence to show.
 */
export function problemFromResponse(status: number, statusText: string, body: unknown, retryAfterHeader: string | null): ProblemDetails {
  const retryAfter = Number(retryAfterHeader);
  const generic: ProblemDetails = {
    title: statusText || "Request failed",
    status,
    detail: FALLBACK_BY_STATUS[status] ?? GENERIC,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}),
  };
  if (!isProblemDetails(body)) return generic;
  const detail = body.detail || (body.code && FALLBACK_BY_CODE[body.code]) || generic.detail;
  return { ...generic, ...body, detail };
}

/** A problem for when no answer arrived at all (offline, connection dropped). */
export function networkProblem(): ProblemDetails {
  return { title: "Network error", status: 0, code: "NETWORK_ERROR", detail: FALLBACK_BY_CODE.NETWORK_ERROR };
}

/** Where a problem points a person next. */
export interface ProblemAction {
  label: string;
  href: string;
}

/** What to show for a problem: the sentence, and the next step when there is an obvious one. */
export interface ProblemMessage {
  code: string;
  message: string;
  action: ProblemAction | null;
  /** When a rate limit lifts (epoch ms), for "come back at …" and disabling the retry. */
  retryAt: number | null;
  /** Whether trying the same thing again right away can help. */
  retryable: boolean;
}

/** Turns anything thrown by an API call into a {@link ProblemMessage}. */
export function describeProblem(error: unknown, now: number = Date.now()): ProblemMessage {
  const problem = error instanceof ApiError ? error.problem : networkProblem();
  const code = problem.code ?? (problem.status === 0 ? "NETWORK_ERROR" : `HTTP_${problem.status}`);
  const message = problem.detail || FALLBACK_BY_CODE[code] || GENERIC;
  const retryAt = code === "RATE_LIMITED" && problem.retryAfter ? now + problem.retryAfter * 1000 : null;
  let action: ProblemAction | null = null;
  if (code === "INSUFFICIENT_CREDITS") action = { label: "Buy credits", href: "/credits" };
  else if (code === "NOT_AUTHENTICATED") action = { label: "Log in", href: "/login" };
  const retryable =
    code === "NETWORK_ERROR" || code === "SERVICE_UNAVAILABLE" || code === "CSRF_FAILED" || code === "GENERATION_FAILED" || problem.status >= 500;
  return { code, message, action, retryAt, retryable };
}

/** The sentence alone, for places with room for one line. */
export function describeError(error: unknown): string {
  return describeProblem(error).message;
}
