import { cache } from "react";

import { ApiError } from "@/lib/api/problems";
import { serverApi, unwrap } from "@/lib/api/server";
import type { PublicVideo } from "@/lib/api/types";

/** A shared video by its slug, or null when it is not (or no longer) shared. Cached per request. */
export const getPublicVideo = cache(async (slug: string): Promise<PublicVideo | null> => {
  const api = await serverApi();
  try {
    return await unwrap(api.GET("/api/public/videos/{slug}", { params: { path: { slug } } }));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422 || error.status === 400)) return null;
    throw error;
  }
});
