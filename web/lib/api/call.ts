/**
 * Unwraps an openapi-fetch result: the typed body of a 2xx answer, or an {@link ApiError}
 * carrying the problem details of anything else. Used by the browser and the server client.
 */

import { ApiError, networkProblem, problemFromResponse } from "./problems";

/** The shape every openapi-fetch call resolves to. */
export interface FetchResult<Data> {
  data?: Data;
  error?: unknown;
  response: Response;
}

function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

/**
 * Awaits `pending` and returns its data, throwing an {@link ApiError} for a problem answer or
 * for no answer at all. An aborted call rethrows the AbortError so callers can ignore it.
 */
export async function unwrap<Data>(pending: Promise<FetchResult<Data>>): Promise<Data> {
  let result: FetchResult<Data>;
  try {
    result = await pending;
  } catch (error) {
    if (isAbort(error) || error instanceof ApiError) throw error;
    throw new ApiError(networkProblem());
  }
  const { response } = result;
  if (!response.ok) {
    throw new ApiError(problemFromResponse(response.status, response.statusText, result.error, response.headers.get("retry-after")));
  }
  return result.data as Data;
}
