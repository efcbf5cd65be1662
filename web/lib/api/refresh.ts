/**
 * Renewing the session when the API says its access cookie expired (`ACCESS_TOKEN_EXPIRED`,
 * after 15 minutes): `POST /api/auth/refresh` swaps the refresh cookie for new cookies, then
 * the call is tried once more. Kept free of browser and app imports so it can be unit-tested.
 */

/** The problem code of a 401 that a refresh can cure. */
export const ACCESS_TOKEN_EXPIRED = "ACCESS_TOKEN_EXPIRED";

/** Whether `error` (an `ApiError`, or anything with a problem `code`) is an expired access cookie. */
export function isAccessTokenExpired(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === ACCESS_TOKEN_EXPIRED;
}

/**
 * Wraps `refresh` (resolves true when new cookies were set, false when the session is over)
 * so that calls made while one is running share it: a page whose five calls all fail at once
 * sends one refresh, because the API ends a session whose refresh cookie is used twice.
 * Once it settles, the next call starts a new one.
 */
export function sharedRefresh(refresh: () => Promise<boolean>): () => Promise<boolean> {
  let pending: Promise<boolean> | null = null;
  return () => {
    pending ??= refresh().finally(() => {
      pending = null;
    });
    return pending;
  };
}

/**
 * Runs `call`; when it fails with an expired access cookie, refreshes (through `refresh`,
 * which should be {@link sharedRefresh}'s) and runs it once more. When the refresh fails
 * (the session is over, or no answer), the original error is thrown: the person is logged out.
 */
export async function retryAfterRefresh<T>(call: () => Promise<T>, refresh: () => Promise<boolean>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isAccessTokenExpired(error)) throw error;
    const renewed = await refresh().catch(() => false);
    if (!renewed) throw error;
    return call();
  }
}
