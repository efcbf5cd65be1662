/**
 * A shared video's poster at a stable address, for link previews: social sites fetch the
 * `og:image` later and keep it, while the signed media URL behind it expires.
 */

import { getPublicVideo } from "@/lib/public-video";
import { apiOrigin } from "@/lib/server-env";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ slug: string }> }): Promise<Response> {
  const video = await getPublicVideo((await params).slug);
  if (!video) return new Response("Not found", { status: 404, headers: { "content-type": "text/plain" } });
  const upstream = await fetch(new URL(video.posterUrl, apiOrigin()), { cache: "no-store" });
  if (!upstream.ok || !upstream.body) return new Response("Poster unavailable", { status: 502, headers: { "content-type": "text/plain" } });
  return new Response(upstream.body, {
    headers: {
      "content-type": upstream.headers.get("content-type") ?? "image/jpeg",
      "cache-control": "public, max-age=300",
      "x-content-type-options": "nosniff",
    },
  });
}
