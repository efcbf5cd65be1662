/** A shared video at a stable address (`og:video`): a redirect to a freshly signed media URL. */

import { getPublicVideo } from "@/lib/public-video";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ slug: string }> }): Promise<Response> {
  const video = await getPublicVideo((await params).slug);
  if (!video) return new Response("Not found", { status: 404, headers: { "content-type": "text/plain" } });
  return new Response(null, { status: 302, headers: { location: video.videoUrl, "cache-control": "no-store" } });
}
