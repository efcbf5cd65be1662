"use client";

import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";

import { PhotoPicker } from "@/components/photo-picker";
import { Button, ButtonLink } from "@/components/ui/button";
import { LabelledProgress } from "@/components/ui/progress-bar";
import { Notice } from "@/components/ui/notice";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, multipart, request, withUploadProgress } from "@/lib/api/client";
import { ApiError, describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { FreeTryClip, FreeTryUpload } from "@/lib/api/types";
import { useLiveEvents } from "@/lib/live-events";
import { useHydrated } from "@/lib/use-hydrated";

const MAX_PHOTO_BYTES = 25 * 1024 * 1024;
/** The try this browser made, so coming back to the page shows it again. */
const REMEMBERED_TRY = "echoes:free-try";
const GENERIC_FAILURE = "We couldn't bring this photo to life. Please try another one.";

type Stage =
  | { kind: "choosing" }
  | { kind: "uploading"; fraction: number }
  | { kind: "animating"; clip: FreeTryClip }
  | { kind: "ready"; clip: FreeTryClip & { videoUrl: string } }
  | { kind: "failed"; problem: ProblemMessage };

function stageFor(clip: FreeTryClip): Stage {
  if (clip.status === "succeeded" && clip.videoUrl) return { kind: "ready", clip: { ...clip, videoUrl: clip.videoUrl } };
  if (clip.status === "failed" || clip.status === "succeeded") {
    return { kind: "failed", problem: { code: "GENERATION_FAILED", message: clip.error || GENERIC_FAILURE, action: null, retryAt: null, retryable: true } };
  }
  return { kind: "animating", clip };
}

/**
 * The free try: one photo in, a watermarked five-second clip out, played in place, then an
 * invitation to sign up to keep it. Without JavaScript the same form posts to `/try/submit`
 * and the status page refreshes itself (see `app/try`).
 */
export function FreeTry() {
  const [photo, setPhoto] = useState<File | null>(null);
  const [pickProblem, setPickProblem] = useState<string | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: "choosing" });
  const uploadAbort = useRef<AbortController | null>(null);
  const hydrated = useHydrated();
  const clipId = stage.kind === "animating" || stage.kind === "ready" ? stage.clip.id : null;

  useEffect(() => () => uploadAbort.current?.abort(), []);

  // Coming back to the page: show the try this browser already made, if it still exists.
  useEffect(() => {
    const remembered = window.localStorage.getItem(REMEMBERED_TRY);
    if (!remembered) return;
    request(() => api.GET("/api/try/{clip_id}", { params: { path: { clip_id: remembered } } }))
      .then((clip) => setStage((current) => (current.kind === "choosing" ? stageFor(clip) : current)))
      .catch(() => window.localStorage.removeItem(REMEMBERED_TRY));
  }, []);

  const refresh = useCallback(async () => {
    if (!clipId) return;
    try {
      const clip = await request(() => api.GET("/api/try/{clip_id}", { params: { path: { clip_id: clipId } } }));
      setStage((current) => (current.kind === "animating" || current.kind === "ready" ? stageFor(clip) : current));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        window.localStorage.removeItem(REMEMBERED_TRY);
        setStage({ kind: "failed", problem: describeProblem(error) });
      }
      // Other failures (a dropped connection) are retried by the next poll or event.
    }
  }, [clipId]);

  useLiveEvents({
    enabled: stage.kind === "animating",
    active: true,
    refresh,
    onEvent: (event) => {
      if (event.type === "clip.progress" && event.clipId === clipId) {
        setStage((current) => (current.kind === "animating" ? { kind: "animating", clip: { ...current.clip, status: "generating", progress: event.progress } } : current));
      } else if (event.type === "clip.status" && event.clipId === clipId) {
        if (event.status === "succeeded" || event.status === "failed") void refresh();
        else setStage((current) => (current.kind === "animating" ? { kind: "animating", clip: { ...current.clip, status: event.status, progress: event.progress } } : current));
      }
    },
  });

  function pick(file: File) {
    if (file.type && !file.type.startsWith("image/")) {
      setPickProblem("That file isn't a photo. Please choose an image (JPEG, PNG, WebP or HEIC).");
      return;
    }
    if (file.size > MAX_PHOTO_BYTES) {
      setPickProblem("That photo is larger than 25 MB. Please choose a smaller one.");
      return;
    }
    setPickProblem(null);
    setPhoto(file);
    setStage({ kind: "choosing" });
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (!photo) return;
    const controller = new AbortController();
    uploadAbort.current = controller;
    setStage({ kind: "uploading", fraction: 0 });
    try {
      const created = await request(() =>
        api.POST("/api/try", {
          body: multipart<FreeTryUpload>({ photo }),
          fetch: withUploadProgress((fraction) => setStage({ kind: "uploading", fraction })),
          signal: controller.signal,
        }),
      );
      window.localStorage.setItem(REMEMBERED_TRY, created.id);
      setStage(stageFor(created));
    } catch (error) {
      if (controller.signal.aborted) return;
      setStage({ kind: "failed", problem: describeProblem(error) });
    }
  }

  function startOver() {
    window.localStorage.removeItem(REMEMBERED_TRY);
    setPhoto(null);
    setStage({ kind: "choosing" });
  }

  if (stage.kind === "ready") return <FreeClipReady clip={stage.clip} onStartOver={startOver} />;

  const busy = stage.kind === "uploading" || stage.kind === "animating";
  const canSubmit = stage.kind === "choosing" || (stage.kind === "failed" && stage.problem.retryable && photo !== null);

  return (
    <form action="/try/submit" method="post" encType="multipart/form-data" onSubmit={submit} className="flex flex-col gap-5" data-testid="free-try">
      <PhotoPicker name="photo" photo={photo} disabled={busy} onPick={pick} />

      <div aria-live="polite" className="flex flex-col gap-3 empty:hidden">
        {pickProblem && <Notice tone="problem">{pickProblem}</Notice>}
        {stage.kind === "uploading" && <LabelledProgress label="Uploading your photo" value={stage.fraction} />}
        {stage.kind === "animating" &&
          (stage.clip.status === "generating" ? (
            <LabelledProgress label="Bringing your photo to life" value={stage.clip.progress} />
          ) : (
            <LabelledProgress label="Waiting for a free spot" value={null} />
          ))}
        {stage.kind === "failed" && <ProblemNotice problem={stage.problem} />}
        {stage.kind === "animating" && stage.clip.provider === "local" && <LocalProviderNote />}
      </div>

      {canSubmit && (
        <Button type="submit" disabled={hydrated && !photo} block>
          {stage.kind === "failed" ? "Try again" : "Bring it to life"}
        </Button>
      )}
      {stage.kind === "failed" && !stage.problem.retryable && stage.problem.code === "RATE_LIMITED" && (
        <ButtonLink href="/signup" variant="secondary" block>
          Sign up to make more clips
        </ButtonLink>
      )}
    </form>
  );
}

function LocalProviderNote() {
  return <p className="rounded-xl bg-sand/70 px-4 py-3 text-sm leading-relaxed text-muted">This build animates photos with a gentle local pan-and-zoom, not AI.</p>;
}

/** The finished free clip, playing, with the way to keep it: an account. */
function FreeClipReady({ clip, onStartOver }: { clip: FreeTryClip & { videoUrl: string }; onStartOver: () => void }) {
  return (
    <div className="flex flex-col gap-5" data-testid="free-try-ready">
      <video
        key={clip.videoUrl}
        src={clip.videoUrl}
        poster={clip.posterUrl ?? undefined}
        controls
        playsInline
        autoPlay
        muted
        loop
        width={clip.width ?? undefined}
        height={clip.height ?? undefined}
        aria-label="Your free clip"
        className="mx-auto h-auto max-h-[65vh] w-full rounded-2xl bg-ink object-contain shadow-soft"
      />
      <div className="flex flex-col gap-1 text-center">
        <p className="font-display text-2xl text-ink">Here it is — your photo, moving.</p>
        <p className="text-base leading-relaxed text-muted">Create a free account to download it or share it. Once you confirm your e-mail address, you&apos;ll also get a credit to start your first project.</p>
      </div>
      {clip.provider === "local" && <LocalProviderNote />}
      <div className="flex flex-col gap-3 sm:flex-row">
        <ButtonLink href="/signup?next=%2Fdashboard" block>
          Sign up to download
        </ButtonLink>
        <ButtonLink href="/login?next=%2Fdashboard" variant="secondary" block>
          I have an account
        </ButtonLink>
      </div>
      <button type="button" onClick={onStartOver} className="mx-auto min-h-11 text-sm font-medium text-muted underline underline-offset-4 hover:text-ink">
        Try a different photo
      </button>
    </div>
  );
}
