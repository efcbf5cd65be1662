import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { ButtonLink } from "@/components/ui/button";
import { Notice } from "@/components/ui/notice";
import { ProgressBar } from "@/components/ui/progress-bar";
import { serverApi, unwrap } from "@/lib/api/server";
import { ApiError } from "@/lib/api/problems";
import type { FreeTryClip } from "@/lib/api/types";

export const metadata: Metadata = { title: "Your free clip", robots: { index: false } };

/** Seconds between the page's self-refreshes while the clip is being made. */
const REFRESH_SECONDS = 2;

/**
 * The free clip's status as a plain page, for the no-JavaScript free try: it refreshes itself
 * (`<meta http-equiv="refresh">`) until the clip is ready, then plays it.
 */
export default async function FreeTryStatusPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const api = await serverApi();
  let clip: FreeTryClip;
  try {
    clip = await unwrap(api.GET("/api/try/{clip_id}", { params: { path: { clip_id: id } } }));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 422 || error.status === 400)) notFound();
    throw error;
  }

  const working = clip.status === "draft" || clip.status === "queued" || clip.status === "generating";
  return (
    <div className="mx-auto flex w-full max-w-xl flex-col gap-6 pb-16 pt-4 sm:pt-10">
      {working && <meta httpEquiv="refresh" content={String(REFRESH_SECONDS)} />}
      <h1 className="font-display text-3xl text-ink sm:text-4xl">{working ? "Bringing your photo to life" : clip.status === "succeeded" ? "Your free clip is ready" : "This clip didn't work out"}</h1>

      {working && (
        <section className="flex flex-col gap-4 rounded-3xl border border-line/70 bg-paper p-6 shadow-soft" aria-live="polite">
          <div className="flex items-baseline justify-between text-sm">
            <span className="font-medium text-ink">{clip.status === "generating" ? "Animating…" : "Waiting for a free spot…"}</span>
            {clip.status === "generating" && <span className="tabular-nums text-muted">{Math.round(clip.progress * 100)}%</span>}
          </div>
          <ProgressBar value={clip.status === "generating" ? clip.progress : null} label="Making your clip" />
          <p className="text-sm leading-relaxed text-muted">This page refreshes itself every few seconds. A clip usually takes under a minute.</p>
        </section>
      )}

      {clip.status === "succeeded" && clip.videoUrl && (
        <>
          <video
            src={clip.videoUrl}
            poster={clip.posterUrl ?? undefined}
            controls
            playsInline
            muted
            loop
            width={clip.width ?? undefined}
            height={clip.height ?? undefined}
            aria-label="Your free clip"
            className="mx-auto h-auto max-h-[65vh] w-full rounded-2xl bg-ink object-contain shadow-soft"
          />
          <p className="text-base leading-relaxed text-muted">Create a free account to download it or share it. Once you confirm your e-mail address, you&apos;ll also get a credit to start your first project.</p>
          <div className="flex flex-col gap-3 sm:flex-row">
            <ButtonLink href="/signup?next=%2Fdashboard" block>
              Sign up to download
            </ButtonLink>
            <ButtonLink href="/login?next=%2Fdashboard" variant="secondary" block>
              I have an account
            </ButtonLink>
          </div>
        </>
      )}

      {(clip.status === "failed" || (clip.status === "succeeded" && !clip.videoUrl)) && (
        <>
          <Notice tone="problem">{clip.error || "We couldn't bring this photo to life. Please try another one."}</Notice>
          <ButtonLink href="/#try" variant="secondary">
            Try another photo
          </ButtonLink>
        </>
      )}

      {clip.provider === "local" && <p className="rounded-xl bg-sand/70 px-4 py-3 text-sm leading-relaxed text-muted">This build animates photos with a gentle local pan-and-zoom, not AI.</p>}
    </div>
  );
}
