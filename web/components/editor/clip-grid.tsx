"use client";

import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";

import { GripIcon, PlayIcon } from "@/components/ui/icons";
import { ProgressBar } from "@/components/ui/progress-bar";
import type { Aspect, ClipView } from "@/lib/api/types";

export const ASPECT_CLASS: Record<Aspect, string> = {
  "16:9": "aspect-video",
  "9:16": "aspect-[9/16]",
  "1:1": "aspect-square",
};

interface ClipGridProps {
  clips: ClipView[];
  aspect: Aspect;
  onReorder: (clipIds: string[]) => void;
  onOpen: (clip: ClipView) => void;
}

interface DragState {
  clipId: string;
  pointerId: number;
  from: number;
  over: number;
  /** Centres of the card slots when the drag began, in order, in page coordinates (so scrolling mid-drag is fine). */
  slots: { x: number; y: number }[];
}

function moved<T>(items: T[], from: number, to: number): T[] {
  const copy = items.slice();
  const [item] = copy.splice(from, 1);
  copy.splice(to, 0, item!);
  return copy;
}

/**
 * The project's clips in order. Reorder by dragging a card's handle (mouse, pen or finger)
 * or, with the handle focused, by the arrow keys (Home and End for the ends); each move is
 * announced for screen readers. Tapping a card opens it for editing.
 */
export function ClipGrid({ clips, aspect, onReorder, onOpen }: ClipGridProps) {
  const [drag, setDrag] = useState<DragState | null>(null);
  const [announcement, setAnnouncement] = useState("");
  const cards = useRef(new Map<string, HTMLLIElement>());
  const dragging = useRef<DragState | null>(null);
  const stopListening = useRef<(() => void) | null>(null);
  useEffect(() => () => stopListening.current?.(), []);

  const shown = drag ? moved(clips, drag.from, drag.over) : clips;

  function moveTo(clipId: string, to: number) {
    const from = clips.findIndex((clip) => clip.id === clipId);
    const target = Math.max(0, Math.min(clips.length - 1, to));
    if (from < 0 || from === target) return;
    onReorder(moved(clips, from, target).map((clip) => clip.id));
    setAnnouncement(`Clip moved to position ${target + 1} of ${clips.length}.`);
  }

  function onHandleKeyDown(event: KeyboardEvent<HTMLButtonElement>, clip: ClipView, index: number) {
    const targets: Record<string, number> = {
      ArrowUp: index - 1,
      ArrowLeft: index - 1,
      ArrowDown: index + 1,
      ArrowRight: index + 1,
      Home: 0,
      End: clips.length - 1,
    };
    const to = targets[event.key];
    if (to === undefined) return;
    event.preventDefault();
    moveTo(clip.id, to);
  }

  /**
   * Pointer dragging follows the pointer on the window rather than through pointer capture:
   * React moves list items in the DOM as the order changes, and moving the captured element
   * would silently release the capture mid-drag.
   */
  function onPointerDown(event: PointerEvent<HTMLButtonElement>, clip: ClipView, index: number) {
    if (event.button !== 0 || dragging.current) return;
    event.preventDefault();
    const slots = clips.map((candidate) => {
      const rect = cards.current.get(candidate.id)?.getBoundingClientRect();
      return rect ? { x: rect.left + window.scrollX + rect.width / 2, y: rect.top + window.scrollY + rect.height / 2 } : { x: 0, y: 0 };
    });
    const state: DragState = { clipId: clip.id, pointerId: event.pointerId, from: index, over: index, slots };
    dragging.current = state;
    setDrag(state);

    const move = (moveEvent: globalThis.PointerEvent) => {
      const current = dragging.current;
      if (!current || moveEvent.pointerId !== current.pointerId) return;
      let nearest = current.over;
      let best = Number.POSITIVE_INFINITY;
      current.slots.forEach((slot, slotIndex) => {
        const distance = (slot.x - moveEvent.pageX) ** 2 + (slot.y - moveEvent.pageY) ** 2;
        if (distance < best) {
          best = distance;
          nearest = slotIndex;
        }
      });
      if (nearest !== current.over) {
        dragging.current = { ...current, over: nearest };
        setDrag(dragging.current);
      }
    };
    const end = (endEvent: globalThis.PointerEvent) => {
      const current = dragging.current;
      if (!current || endEvent.pointerId !== current.pointerId) return;
      stopListening.current?.();
      dragging.current = null;
      setDrag(null);
      if (endEvent.type === "pointerup" && current.over !== current.from) moveTo(current.clipId, current.over);
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", end);
    window.addEventListener("pointercancel", end);
    stopListening.current = () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", end);
      window.removeEventListener("pointercancel", end);
      stopListening.current = null;
    };
  }

  return (
    <>
      <ol className="grid grid-cols-2 gap-3 sm:gap-4 md:grid-cols-3" aria-label="Clips in order" data-testid="clip-grid">
        {shown.map((clip, index) => (
          <li
            key={clip.id}
            ref={(element) => {
              if (element) cards.current.set(clip.id, element);
              else cards.current.delete(clip.id);
            }}
            data-testid="clip-card"
            data-clip-id={clip.id}
            data-status={clip.status}
            className={[
              "flex flex-col overflow-hidden rounded-2xl border bg-paper shadow-soft transition-[box-shadow,transform]",
              drag?.clipId === clip.id ? "z-10 scale-[1.03] border-ember shadow-lift" : "border-line/70",
            ].join(" ")}
          >
            <button type="button" onClick={() => onOpen(clip)} className={`relative block w-full overflow-hidden bg-sand ${ASPECT_CLASS[aspect]}`} aria-label={`Clip ${index + 1}: ${statusLabel(clip)}. Open to watch or edit.`}>
              <img src={clip.posterUrl ?? clip.photo.thumbnailUrl} alt="" className="absolute inset-0 size-full object-cover" draggable={false} />
              <span className="absolute left-2 top-2 flex size-7 items-center justify-center rounded-full bg-ink/75 text-xs font-semibold text-cream">{index + 1}</span>
              {clip.status === "succeeded" && (
                <span className="absolute inset-0 flex items-center justify-center">
                  <span className="flex size-11 items-center justify-center rounded-full bg-cream/90 text-ink shadow-sm">
                    <PlayIcon className="size-5 translate-x-px" />
                  </span>
                </span>
              )}
              {(clip.status === "queued" || clip.status === "generating") && (
                <span className="absolute inset-x-0 bottom-0 flex flex-col gap-1.5 bg-gradient-to-t from-ink/80 to-transparent p-2.5 pt-6 text-left">
                  <span className="text-xs font-semibold text-cream">{clip.status === "generating" ? `Animating ${Math.round(clip.progress * 100)}%` : "Waiting…"}</span>
                  <ProgressBar value={clip.status === "generating" ? clip.progress : null} label={`Clip ${index + 1} progress`} className="bg-cream/30" />
                </span>
              )}
              {clip.status === "failed" && <span className="absolute inset-x-2 bottom-2 rounded-lg bg-ember px-2 py-1 text-left text-xs font-semibold text-white">Didn&apos;t work — tap to retry</span>}
              {clip.status === "draft" && <span className="absolute inset-x-2 bottom-2 rounded-lg bg-cream/90 px-2 py-1 text-left text-xs font-semibold text-ink">Not animated yet</span>}
            </button>
            <div className="flex items-center justify-between gap-1 px-2 py-1">
              <span className="truncate pl-1 text-xs font-medium text-muted">{clip.caption || SHORT_STATUS[clip.status]}</span>
              <button
                type="button"
                aria-label={`Move clip ${index + 1}`}
                aria-describedby="reorder-help"
                onKeyDown={(event) => onHandleKeyDown(event, clip, index)}
                onPointerDown={(event) => onPointerDown(event, clip, clips.findIndex((candidate) => candidate.id === clip.id))}
                data-testid="clip-handle"
                className="flex size-11 shrink-0 cursor-grab touch-none items-center justify-center rounded-xl text-muted hover:bg-sand hover:text-ink active:cursor-grabbing"
              >
                <GripIcon />
              </button>
            </div>
          </li>
        ))}
      </ol>
      <p id="reorder-help" className="sr-only">
        Drag to reorder, or use the arrow keys to move this clip earlier or later.
      </p>
      <p aria-live="polite" className="sr-only">
        {announcement}
      </p>
    </>
  );
}

const SHORT_STATUS: Record<ClipView["status"], string> = {
  draft: "Photo",
  queued: "Waiting",
  generating: "Animating",
  succeeded: "Ready",
  failed: "Failed",
};

export function statusLabel(clip: ClipView): string {
  switch (clip.status) {
    case "draft":
      return "Not animated yet";
    case "queued":
      return "Waiting to animate";
    case "generating":
      return `Animating, ${Math.round(clip.progress * 100)}%`;
    case "succeeded":
      return "Ready";
    case "failed":
      return "Didn't work";
  }
}
