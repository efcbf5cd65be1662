"use client";

import { useEffect, useRef, useState } from "react";

import { Button } from "@/components/ui/button";
import { ArrowLeftIcon, ArrowRightIcon, CloseIcon, RefreshIcon, TrashIcon } from "@/components/ui/icons";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { ProgressBar } from "@/components/ui/progress-bar";
import type { ProblemMessage } from "@/lib/api/problems";
import type { Aspect, ClipView } from "@/lib/api/types";

import { ASPECT_CLASS, statusLabel } from "./clip-grid";

interface ClipDialogProps {
  clip: ClipView;
  index: number;
  total: number;
  aspect: Aspect;
  freeRegenerationsLeft: number;
  onClose: () => void;
  onMove: (to: number) => void;
  onRegenerate: (prompt: string | null) => Promise<ProblemMessage | null>;
  onDelete: () => Promise<ProblemMessage | null>;
  onSaveDetails: (prompt: string | null, caption: string | null) => Promise<ProblemMessage | null>;
}

/**
 * One clip, large: watch it, give the animation a direction, add a caption, make it again,
 * move it, or remove it. A native modal <dialog>, so focus stays inside and Escape closes it.
 */
export function ClipDialog({ clip, index, total, aspect, freeRegenerationsLeft, onClose, onMove, onRegenerate, onDelete, onSaveDetails }: ClipDialogProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [prompt, setPrompt] = useState(clip.prompt ?? "");
  const [caption, setCaption] = useState(clip.caption ?? "");
  const [busy, setBusy] = useState<"save" | "regenerate" | "delete" | null>(null);
  const [confirmingDelete, setConfirmingDelete] = useState(false);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
  }, []);

  const working = clip.status === "queued" || clip.status === "generating";
  const changed = prompt.trim() !== (clip.prompt ?? "") || caption.trim() !== (clip.caption ?? "");

  async function run(kind: "save" | "regenerate" | "delete", action: () => Promise<ProblemMessage | null>) {
    setBusy(kind);
    setProblem(null);
    setSaved(false);
    const result = await action();
    setBusy(null);
    setProblem(result);
    return result === null;
  }

  return (
    <dialog
      ref={dialog}
      onClose={onClose}
      onClick={(event) => {
        if (event.target === dialog.current) dialog.current?.close();
      }}
      aria-labelledby="clip-dialog-title"
      className="m-0 mt-auto max-h-[92dvh] w-full max-w-none overflow-y-auto rounded-t-3xl bg-paper p-0 text-ink shadow-lift backdrop:bg-ink/50 sm:m-auto sm:max-w-2xl sm:rounded-3xl"
      data-testid="clip-dialog"
    >
      <div className="flex flex-col gap-5 p-5 sm:p-6">
        <div className="flex items-center justify-between gap-3">
          <h2 id="clip-dialog-title" className="font-display text-2xl">
            Clip {index + 1} <span className="text-base font-normal text-muted">of {total}</span>
          </h2>
          <button type="button" onClick={() => dialog.current?.close()} aria-label="Close" className="flex size-11 items-center justify-center rounded-full text-muted hover:bg-sand hover:text-ink">
            <CloseIcon />
          </button>
        </div>

        <div className={`relative mx-auto w-full overflow-hidden rounded-2xl bg-ink ${aspect === "9:16" ? "max-w-xs" : ""} ${ASPECT_CLASS[aspect]}`}>
          {clip.status === "succeeded" && clip.videoUrl ? (
            <video key={clip.videoUrl} src={clip.videoUrl} poster={clip.posterUrl ?? undefined} controls autoPlay playsInline loop className="absolute inset-0 size-full object-contain" aria-label={`Clip ${index + 1}`} data-testid="clip-video" />
          ) : (
            <img src={clip.photo.thumbnailUrl} alt={`The photo for clip ${index + 1}`} className="absolute inset-0 size-full object-contain" />
          )}
        </div>

        <div className="flex flex-col gap-2" aria-live="polite">
          <p className="text-sm font-medium text-ink">{statusLabel(clip)}</p>
          {working && <ProgressBar value={clip.status === "generating" ? clip.progress : null} label="Animating" />}
          {clip.status === "failed" && clip.error && <p className="text-sm text-ember-deep">{clip.error}</p>}
          {clip.provider === "local" && clip.status === "succeeded" && <p className="text-sm text-muted">Animated with the local pan-and-zoom, not AI.</p>}
        </div>

        <div className="flex flex-col gap-1.5">
          <label htmlFor="clip-prompt" className="text-sm font-semibold">
            Direction for the animation <span className="font-normal text-muted">(optional)</span>
          </label>
          <textarea
            id="clip-prompt"
            value={prompt}
            onChange={(event) => setPrompt(event.target.value)}
            maxLength={2000}
            rows={2}
            placeholder="A gentle smile, hair moving in the breeze"
            className="rounded-xl border border-line bg-paper px-4 py-3 text-base shadow-sm outline-none placeholder:text-muted/80 focus:border-ember focus:ring-2 focus:ring-ember/20"
          />
          <p className="text-sm text-muted">Used the next time this clip is made.</p>
        </div>
        <div className="flex flex-col gap-1.5">
          <label htmlFor="clip-caption" className="text-sm font-semibold">
            Caption in the video <span className="font-normal text-muted">(optional)</span>
          </label>
          <input
            id="clip-caption"
            value={caption}
            onChange={(event) => setCaption(event.target.value)}
            maxLength={200}
            placeholder="Summer, 1974"
            className="min-h-12 rounded-xl border border-line bg-paper px-4 text-base shadow-sm outline-none placeholder:text-muted/80 focus:border-ember focus:ring-2 focus:ring-ember/20"
          />
        </div>
        {(changed || saved) && (
          <Button
            variant="secondary"
            disabled={!changed || busy !== null}
            onClick={() => void run("save", () => onSaveDetails(prompt.trim() || null, caption.trim() || null)).then((ok) => setSaved(ok))}
            className="self-start"
          >
            {busy === "save" ? "Saving…" : saved && !changed ? "Saved" : "Save changes"}
          </Button>
        )}

        <ProblemNotice problem={problem} />

        <div className="flex flex-col gap-3 border-t border-line pt-5">
          <Button
            onClick={() => void run("regenerate", () => onRegenerate(prompt.trim() || null))}
            disabled={working || clip.status === "draft" || busy !== null}
            variant={clip.status === "failed" ? "primary" : "secondary"}
            block
          >
            <RefreshIcon /> {busy === "regenerate" ? "Starting…" : clip.status === "failed" ? "Try this clip again" : "Make this clip again"}
          </Button>
          <p className="text-center text-sm text-muted">
            {freeRegenerationsLeft > 0 ? `${freeRegenerationsLeft} free ${freeRegenerationsLeft === 1 ? "remake" : "remakes"} left in this project, then 1 credit each.` : "Each remake uses 1 credit."}
          </p>
          <div className="grid grid-cols-2 gap-3">
            <Button variant="secondary" size="sm" disabled={index === 0} onClick={() => onMove(index - 1)}>
              <ArrowLeftIcon /> Earlier
            </Button>
            <Button variant="secondary" size="sm" disabled={index === total - 1} onClick={() => onMove(index + 1)}>
              Later <ArrowRightIcon />
            </Button>
          </div>
          {confirmingDelete ? (
            <div className="flex flex-col gap-3 rounded-2xl bg-ember-soft/50 p-4">
              <p className="text-sm text-ink">Remove this clip and its photo from the project? This can&apos;t be undone.</p>
              <div className="flex gap-3">
                <Button variant="primary" size="sm" disabled={busy !== null} onClick={() => void run("delete", onDelete)}>
                  {busy === "delete" ? "Removing…" : "Yes, remove it"}
                </Button>
                <Button variant="quiet" size="sm" onClick={() => setConfirmingDelete(false)}>
                  Keep it
                </Button>
              </div>
            </div>
          ) : (
            <Button variant="danger" size="sm" onClick={() => setConfirmingDelete(true)} disabled={busy !== null}>
              <TrashIcon /> Remove clip
            </Button>
          )}
        </div>
      </div>
    </dialog>
  );
}
