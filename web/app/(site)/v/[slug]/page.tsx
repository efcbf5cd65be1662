import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { ButtonLink } from "@/components/ui/button";
import { getPublicVideo } from "@/lib/public-video";
import { publicOrigin } from "@/lib/server-env";
import { formatDuration } from "@/lib/format";

type Props = { params: Promise<{ slug: string }> };

const DESCRIPTION = "Old photos, brought to life with Echoes.";

/**
 * Link previews (Open Graph, Twitter cards). Image and video point at this page's own stable
 * addresses (`/v/{slug}/poster`, `/v/{slug}/video`), because the signed media URLs expire,
 * on the site's configured `PUBLIC_URL` (never the Host header a request brought).
 * Shared videos are unlisted: previews yes, search engines no.
 */
export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { slug } = await params;
  const video = await getPublicVideo(slug);
  if (!video) return { title: "Video not found", robots: { index: false } };
  const page = `${publicOrigin()}/v/${encodeURIComponent(slug)}`;
  const image = { url: `${page}/poster`, width: video.width, height: video.height, alt: video.title };
  return {
    title: video.title,
    description: DESCRIPTION,
    robots: { index: false, follow: false },
    alternates: { canonical: page },
    openGraph: {
      type: "video.other",
      siteName: "Echoes",
      title: video.title,
      description: DESCRIPTION,
      url: page,
      images: [image],
      videos: [{ url: `${page}/video`, secureUrl: page.startsWith("https:") ? `${page}/video` : undefined, type: "video/mp4", width: video.width, height: video.height }],
    },
    twitter: { card: "summary_large_image", title: video.title, description: DESCRIPTION, images: [image.url] },
  };
}

export default async function PublicVideoPage({ params }: Props) {
  const { slug } = await params;
  const video = await getPublicVideo(slug);
  if (!video) notFound();
  const tall = video.height > video.width;
  return (
    <article className="mx-auto flex w-full max-w-3xl flex-col gap-6 pb-12 pt-2 sm:pt-6">
      <video
        src={video.videoUrl}
        poster={video.posterUrl}
        controls
        playsInline
        preload="metadata"
        width={video.width}
        height={video.height}
        className={`mx-auto h-auto w-full rounded-3xl bg-ink shadow-lift ${tall ? "max-w-sm" : ""}`}
        aria-label={video.title}
        data-testid="public-video"
      />
      <div className="flex flex-col gap-1">
        <h1 className="font-display text-3xl text-ink sm:text-4xl">{video.title}</h1>
        <p className="text-sm text-muted">{formatDuration(video.durationSeconds)} · made with Echoes</p>
      </div>
      <section className="flex flex-col gap-3 rounded-3xl bg-sand/60 p-5 sm:flex-row sm:items-center sm:justify-between sm:p-6">
        <p className="text-base leading-relaxed text-ink">Have old photos of your own? Echoes brings them to life — your first clip is free.</p>
        <ButtonLink href="/#try" className="shrink-0">
          Try a free clip
        </ButtonLink>
      </section>
    </article>
  );
}
