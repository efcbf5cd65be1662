"use client";

import { useEffect, useState } from "react";

import { ButtonAnchor, ButtonLink } from "@/components/ui/button";
import { DownloadIcon } from "@/components/ui/icons";
import { api, request } from "@/lib/api/client";
import type { FreeTryClip } from "@/lib/api/types";

const REMEMBERED_TRY = "echoes:free-try";

/**
 * The free clip made before signing up, now in the account: shown on the dashboard with its
 * download. The clip ids come from sign-up (`?claimed=`) or from this browser's memory of its
 * free try; the free-try endpoint answers the account that claimed the clip, on any device,
 * with its `downloadUrl`. A clip this browser remembers but another account claimed comes
 * without one, and gets the sign-up call to action instead of a download.
 */
export function FreeClipCard({ claimed }: { claimed: string[] }) {
  const [clip, setClip] = useState<FreeTryClip | null>(null);

  useEffect(() => {
    const ids = claimed.length > 0 ? claimed : [window.localStorage.getItem(REMEMBERED_TRY)].filter((id): id is string => Boolean(id));
    const id = ids[0];
    if (!id) return;
    request(() => api.GET("/api/try/{clip_id}", { params: { path: { clip_id: id } } }))
      .then((found) => {
        if (found.status === "succeeded" && found.videoUrl) setClip(found);
      })
      .catch(() => window.localStorage.removeItem(REMEMBERED_TRY));
  }, [claimed]);

  if (!clip?.videoUrl) return null;
  return (
    <section aria-labelledby="free-clip-heading" className="flex flex-col gap-4 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:flex-row sm:items-center sm:p-6" data-testid="free-clip-card">
      <video
        src={clip.videoUrl}
        poster={clip.posterUrl ?? undefined}
        muted
        loop
        autoPlay
        playsInline
        controls
        aria-label="Your free clip"
        className="aspect-square w-full rounded-2xl bg-ink object-cover sm:w-48"
      />
      <div className="flex flex-1 flex-col gap-3">
        <div>
          <h2 id="free-clip-heading" className="font-display text-2xl text-ink">
            Your free clip is yours to keep
          </h2>
          <p className="mt-1 text-base leading-relaxed text-muted">It is kept in your account, on every device you log in on, until you delete the account.</p>
        </div>
        {clip.downloadUrl ? (
          <ButtonAnchor href={clip.downloadUrl} variant="secondary" className="self-start" data-testid="free-clip-download">
            <DownloadIcon /> Download clip
          </ButtonAnchor>
        ) : (
          <ButtonLink href="/signup?next=%2Fdashboard" variant="secondary" className="self-start">
            Sign up to download
          </ButtonLink>
        )}
      </div>
    </section>
  );
}
