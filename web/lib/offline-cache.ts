/**
 * The window's side of the offline caches that `public/sw.js` fills. The cache names are
 * shared with the service worker (which cannot import this module): keep them in step.
 */

/** Pages the person visited, kept so they open offline. */
export const PAGES_CACHE = "echoes-pages";
/** Clips, videos and posters the person watched, keyed by path (their URLs are signed). */
export const MEDIA_CACHE = "echoes-media";

/** Deletes everything kept for offline use that belongs to the signed-in person. */
export async function forgetPrivateCaches(): Promise<void> {
  if (typeof caches === "undefined") return;
  await Promise.all([caches.delete(PAGES_CACHE), caches.delete(MEDIA_CACHE)]);
}
