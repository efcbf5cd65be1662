"use client";

import { useEffect, useRef, useState, type DragEvent } from "react";

import { ProgressBar } from "@/components/ui/progress-bar";
import { CheckIcon, CloseIcon, UploadIcon } from "@/components/ui/icons";
import { api, multipart, request, withUploadProgress } from "@/lib/api/client";
import { describeProblem } from "@/lib/api/problems";
import type { ClipView, ProjectPhotosUpload } from "@/lib/api/types";
import { preparePhoto } from "@/lib/photo-resize";

const MAX_PHOTO_BYTES = 25 * 1024 * 1024;
/** Photos sent at once: enough to keep the connection busy, few enough to show steady progress. */
const PARALLEL_UPLOADS = 2;
/** How long a finished row stays in the list before it tidies itself away. */
const DONE_ROW_MS = 2500;

type ItemState = "waiting" | "preparing" | "uploading" | "done" | "refused";

interface UploadItem {
  key: string;
  file: File;
  previewUrl: string;
  state: ItemState;
  fraction: number;
  message: string | null;
}

interface PhotoUploaderProps {
  projectId: string;
  /** How many more photos the project can take. */
  capacity: number;
  onClipAdded: (clip: ClipView) => void;
}

let nextKey = 0;

/**
 * Add photos to a project: pick or drop many at once, each previewed with its own progress
 * bar. Photos are shrunk in the browser (at most 2048 px) and sent one per request, so one
 * refused file (not a photo, too small) is reported on its own row and the rest carry on.
 */
export function PhotoUploader({ projectId, capacity, onClipAdded }: PhotoUploaderProps) {
  const [items, setItems] = useState<UploadItem[]>([]);
  const [dragging, setDragging] = useState(false);
  // Set once React has attached the handlers: files chosen before that would be lost.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  const queue = useRef<UploadItem[]>([]);
  const running = useRef(0);
  const callbacks = useRef({ onClipAdded, projectId });
  useEffect(() => {
    callbacks.current = { onClipAdded, projectId };
  });

  const shown = useRef(items);
  useEffect(() => {
    shown.current = items;
  });
  useEffect(() => () => shown.current.forEach((item) => URL.revokeObjectURL(item.previewUrl)), []);

  function update(key: string, patch: Partial<UploadItem>) {
    setItems((current) => current.map((item) => (item.key === key ? { ...item, ...patch } : item)));
  }

  function remove(key: string) {
    setItems((current) => {
      const item = current.find((candidate) => candidate.key === key);
      if (item) URL.revokeObjectURL(item.previewUrl);
      return current.filter((candidate) => candidate.key !== key);
    });
  }

  async function upload(item: UploadItem) {
    update(item.key, { state: "preparing" });
    try {
      const prepared = await preparePhoto(item.file);
      if (prepared.file.size > MAX_PHOTO_BYTES) {
        update(item.key, { state: "refused", message: "This photo is larger than 25 MB. Please choose a smaller one." });
        return;
      }
      update(item.key, { state: "uploading", fraction: 0 });
      const body = multipart<ProjectPhotosUpload>({ photos: [prepared.file] });
      const result = await request(() =>
        api.POST("/api/projects/{project_id}/photos", {
          params: { path: { project_id: callbacks.current.projectId } },
          body,
          fetch: withUploadProgress((fraction) => update(item.key, { fraction }), body),
        }),
      );
      const outcome = result.outcomes[0];
      if (outcome?.ok && outcome.clip) {
        callbacks.current.onClipAdded(outcome.clip);
        update(item.key, { state: "done", fraction: 1 });
        setTimeout(() => remove(item.key), DONE_ROW_MS);
      } else {
        update(item.key, { state: "refused", message: outcome?.error?.detail ?? "This photo could not be added." });
      }
    } catch (error) {
      update(item.key, { state: "refused", message: describeProblem(error).message });
    }
  }

  function pump() {
    while (running.current < PARALLEL_UPLOADS && queue.current.length > 0) {
      const item = queue.current.shift()!;
      running.current += 1;
      void upload(item).finally(() => {
        running.current -= 1;
        pump();
      });
    }
  }

  function addFiles(files: FileList | File[]) {
    const pending = items.filter((item) => item.state !== "done" && item.state !== "refused").length;
    let room = capacity - pending;
    const added: UploadItem[] = [];
    for (const file of Array.from(files)) {
      const item: UploadItem = { key: `upload-${nextKey++}`, file, previewUrl: URL.createObjectURL(file), state: "waiting", fraction: 0, message: null };
      if (file.type && !file.type.startsWith("image/")) {
        item.state = "refused";
        item.message = "This file isn't a photo. Please choose JPEG, PNG, WebP or HEIC images.";
      } else if (room <= 0) {
        item.state = "refused";
        item.message = "This project is full (40 photos). Start a second project for the rest.";
      } else {
        room -= 1;
        queue.current.push(item);
      }
      added.push(item);
    }
    setItems((current) => [...current, ...added]);
    pump();
  }

  function onDrop(event: DragEvent<HTMLLabelElement>) {
    event.preventDefault();
    setDragging(false);
    if (event.dataTransfer.files.length > 0) addFiles(event.dataTransfer.files);
  }

  const busy = items.some((item) => item.state === "waiting" || item.state === "preparing" || item.state === "uploading");

  return (
    <div className="flex flex-col gap-3" data-testid="photo-uploader" data-ready={ready ? "true" : "false"}>
      <label
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        className={[
          "flex cursor-pointer flex-col items-center justify-center gap-2 rounded-3xl border-2 border-dashed px-6 py-8 text-center transition-colors focus-within:outline-2 focus-within:outline-offset-2 focus-within:outline-ember",
          dragging ? "border-ember bg-ember-soft/40" : "border-line bg-paper/60 hover:border-ember/60 hover:bg-ember-soft/20",
          capacity <= 0 ? "pointer-events-none opacity-60" : "",
        ].join(" ")}
      >
        <input
          type="file"
          accept="image/*"
          multiple
          disabled={capacity <= 0}
          className="sr-only"
          aria-label="Add photos"
          onChange={(event) => {
            if (event.target.files?.length) addFiles(event.target.files);
            event.target.value = "";
          }}
        />
        <span aria-hidden className="flex size-12 items-center justify-center rounded-full bg-sand text-ember">
          <UploadIcon className="size-6" />
        </span>
        <span className="text-base font-semibold text-ink">{capacity <= 0 ? "This project is full" : "Add photos"}</span>
        <span className="text-sm text-muted">{capacity <= 0 ? "A project holds 40 photos." : "Tap to choose several, or drop them here."}</span>
      </label>

      {items.length > 0 && (
        <ul className="flex flex-col gap-2" aria-label="Uploads" aria-busy={busy}>
          {items.map((item) => (
            <li key={item.key} className="flex items-center gap-3 rounded-2xl border border-line/70 bg-paper p-2.5 pr-3" data-testid="upload-row" data-state={item.state}>
              <img src={item.previewUrl} alt="" className="size-12 shrink-0 rounded-xl bg-sand object-cover" />
              <div className="flex min-w-0 flex-1 flex-col gap-1.5">
                <div className="flex items-baseline justify-between gap-3 text-sm">
                  <span className="truncate font-medium text-ink">{item.file.name}</span>
                  <span className="shrink-0 text-muted">{statusText(item)}</span>
                </div>
                {item.state === "refused" ? (
                  <p className="text-sm text-ember-deep">{item.message}</p>
                ) : (
                  <ProgressBar value={item.state === "uploading" || item.state === "done" ? item.fraction : item.state === "preparing" ? null : 0} label={`Uploading ${item.file.name}`} />
                )}
              </div>
              {item.state === "done" && <CheckIcon className="size-5 shrink-0 text-moss" />}
              {item.state === "refused" && (
                <button type="button" onClick={() => remove(item.key)} aria-label={`Dismiss ${item.file.name}`} className="flex size-11 shrink-0 items-center justify-center rounded-full text-muted hover:bg-sand">
                  <CloseIcon />
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function statusText(item: UploadItem): string {
  switch (item.state) {
    case "waiting":
      return "Waiting";
    case "preparing":
      return "Preparing";
    case "uploading":
      return `${Math.round(item.fraction * 100)}%`;
    case "done":
      return "Added";
    case "refused":
      return "Not added";
  }
}
