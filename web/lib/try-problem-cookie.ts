/**
 * How the no-JavaScript free try carries a refusal from the form post to the page that
 * explains it: a short-lived cookie scoped to `/try`, rather than the sentence in the URL,
 * so nobody can craft a link that makes Echoes display their words.
 */

export const TRY_PROBLEM_COOKIE = "echoes_try_problem";
export const TRY_PROBLEM_MAX_AGE_SECONDS = 120;

export interface TryProblem {
  code: string;
  detail: string;
  retryAfter?: number;
}

export function encodeTryProblem(problem: TryProblem): string {
  return encodeURIComponent(JSON.stringify(problem));
}

export function decodeTryProblem(value: string | undefined): TryProblem | null {
  if (!value) return null;
  try {
    const parsed = JSON.parse(decodeURIComponent(value)) as Partial<TryProblem>;
    if (typeof parsed.code !== "string" || typeof parsed.detail !== "string") return null;
    return { code: parsed.code, detail: parsed.detail.slice(0, 500), retryAfter: typeof parsed.retryAfter === "number" ? parsed.retryAfter : undefined };
  } catch {
    return null;
  }
}
