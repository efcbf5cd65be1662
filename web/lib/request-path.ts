/**
 * The path and query of the page being requested, as `proxy.ts` passes it to server
 * components (which are not told the URL), for "log in and come back here" redirects.
 */
export const PATH_HEADER = "x-echoes-path";
