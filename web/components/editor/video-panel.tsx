"use client";

import { useEffect, useState } from "react";

import { PushPrompt } from "@/components/push-prompt";
import { Button, ButtonAnchor } from "@/components/ui/button";
import { CopyIcon, DownloadIcon, ShareIcon, SparkleIcon } from "@/components/ui/icons";
import { Notice } from "@/components/ui/notice";
import { LabelledProgress } from "@/components/ui/progress-bar";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request } from "@/lib/api/client";
import { describeProblem, type ProblemMessage } from "@/lib/api/problems";
import { publishBalance } from "@/lib/balance";
import type { Aspect, Render } from "@/lib/api/types";
import { formatDuration } from "@/lib/format";

import { ASPECT_CLASS } from "./clip-grid";

interface VideoPanelProps {
  projectId: string;
  aspect: Aspect;
  render: Render | null;
  /** Why the video can't be made yet, or null when every clip is ready. */
  blockedReason: string | null;
  onRender: (render: Render) => void;
}

/** "Create my video", its live progress, and the finished video: play, download, share. */
export function VideoPanel({ projectId, aspect, render, blockedReason, onRender }: VideoPanelProps) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const [startedHere, setStartedHere] = useState(false);
  const [shareNote, setShareNote] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [origin, setOrigin] = useState("");
  useEffect(() => setOrigin(window.location.origin), []);

  const working = render?.status === "queued" || render?.status === "rendering";
  const done = render?.status === "succeeded" && render.videoUrl ? render : null;

  async function act(action: () => Promise<void>) {
    setBusy(true);
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem(describeProblem(error));
    } finally {
      setBusy(false);
    }
  }

  const start = () =>
    act(async () => {
      const started = await request(() => api.POST("/api/projects/{project_id}/render", { params: { path: { project_id: projectId } } }));
      setStartedHere(true);
      setShareNote(null);
      onRender(started);
    });

  const cancel = () =>
    act(async () => {
      if (!render) return;
      onRender(await request(() => api.POST("/api/renders/{render_id}/cancel", { params: { path: { render_id: render.id } } })));
    });

  const share = () =>
    act(async () => {
      if (!done) return;
      const shared = await request(() => api.POST("/api/renders/{render_id}/share", { params: { path: { render_id: done.id } } }));
      onRender({ ...done, share: { slug: shared.slug, url: shared.url } });
      setShareNote(shared.rewarded ? "Shared — and thank you: 1 credit was added to your balance." : null);
      if (shared.rewarded) publishBalance((await request(() => api.GET("/api/me"))).creditBalance);
    });

  const unshare = () =>
    act(async () => {
      if (!done) return;
      await request(() => api.DELETE("/api/renders/{render_id}/share", { params: { path: { render_id: done.id } } }));
      onRender({ ...done, share: null });
      setShareNote("The public link no longer works.");
    });

  const publicUrl = done?.share ? (origin ? new URL(done.share.url, origin).toString() : done.share.url) : null;

  async function sendLink() {
    if (!publicUrl) return;
    if (navigator.share) {
      await navigator.share({ title: done?.title ?? "Echoes", url: publicUrl }).catch(() => undefined);
      return;
    }
    await navigator.clipboard.writeText(publicUrl);
    setCopied(true);
    setTimeout(() => setCopied(false), 2500);
  }

  return (
    <div className="flex flex-col gap-4" data-testid="video-panel" data-render-status={render?.status ?? "none"}>
      {done && (
        <div className="flex flex-col gap-4">
          <video
            key={done.videoUrl}
            src={done.videoUrl ?? undefined}
            poster={done.posterUrl ?? undefined}
            controls
            playsInline
            preload="metadata"
            className={`mx-auto w-full rounded-2xl bg-ink object-contain shadow-soft ${aspect === "9:16" ? "max-w-xs" : ""} ${ASPECT_CLASS[aspect]}`}
            aria-label={`Your video, ${done.title}`}
            data-testid="final-video"
          />
          <p className="text-center text-sm text-muted">
            {formatDuration(done.durationSeconds)} · {done.width}×{done.height}
            {done.watermarked ? " · includes the free-clip watermark" : ""}
          </p>
          <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-1">
            <ButtonAnchor href={done.downloadUrl ?? done.videoUrl ?? undefined} download variant="primary" block data-testid="download-video">
              <DownloadIcon /> Download MP4
            </ButtonAnchor>
            {done.share ? (
              <Button variant="secondary" block onClick={() => void sendLink()}>
                <CopyIcon /> {copied ? "Link copied" : "Send the link"}
              </Button>
            ) : (
              <Button variant="secondary" block onClick={() => void share()} disabled={busy} data-testid="share-video">
                <ShareIcon /> Share
              </Button>
            )}
          </div>
          {done.share && publicUrl && (
            <div className="flex flex-col gap-2 rounded-2xl bg-sand/60 p-4">
              <p className="text-sm font-semibold text-ink">Anyone with this link can watch:</p>
              <a href={publicUrl} target="_blank" rel="noopener" className="break-all text-sm font-medium text-ember-deep underline underline-offset-4" data-testid="share-link">
                {publicUrl}
              </a>
              <button type="button" onClick={() => void unshare()} disabled={busy} className="self-start text-sm font-medium text-muted underline underline-offset-4 hover:text-ink">
                Stop sharing
              </button>
            </div>
          )}
          {shareNote && <Notice tone="success">{shareNote}</Notice>}
        </div>
      )}

      {working && render && (
        <div className="flex flex-col gap-3 rounded-2xl bg-sand/50 p-4" aria-live="polite">
          <LabelledProgress label={render.status === "queued" ? "Waiting to start" : "Putting your video together"} value={render.status === "queued" ? null : render.progress} />
          <button type="button" onClick={() => void cancel()} disabled={busy} className="self-start text-sm font-medium text-muted underline underline-offset-4 hover:text-ink">
            Stop
          </button>
        </div>
      )}
      {working && startedHere && <PushPrompt what="your video is" />}

      {render?.status === "failed" && <Notice tone="problem">{render.error || "Something went wrong putting the video together. Please try again."}</Notice>}

      {!working && (
        <>
          {blockedReason && <p className="text-sm leading-relaxed text-muted">{blockedReason}</p>}
          <Button onClick={() => void start()} disabled={busy || blockedReason !== null} variant={done ? "secondary" : "primary"} block data-testid="create-video">
            <SparkleIcon /> {busy ? "Starting…" : done ? "Make a new version" : "Create my video"}
          </Button>
        </>
      )}
      <ProblemNotice problem={problem} />
    </div>
  );
}
