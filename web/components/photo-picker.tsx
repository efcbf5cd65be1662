"use client";

import { useEffect, useRef, useState, type DragEvent } from "react";

import { PhotoIcon } from "@/components/ui/icons";
import { useHydrated } from "@/lib/use-hydrated";

interface PhotoPickerProps {
  /** The form field name, so the picker also works as a plain form post without JavaScript. */
  name: string;
  photo: File | null;
  disabled: boolean;
  onPick: (photo: File) => void;
}

/**
 * A tap-or-drop target for one photo that previews the chosen file. Before JavaScript runs
 * (or without it) it is a plain, visible file input inside the same frame.
 */
export function PhotoPicker({ name, photo, disabled, onPick }: PhotoPickerProps) {
  const hydrated = useHydrated();
  const previewUrl = useObjectUrl(photo);
  const [dragging, setDragging] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const pickRef = useRef(onPick);
  useEffect(() => {
    pickRef.current = onPick;
  });

  // A photo chosen before the page finished loading is in the (same) input already.
  useEffect(() => {
    const early = input.current?.files?.[0];
    if (early) pickRef.current(early);
  }, []);

  function handleDrop(event: DragEvent<HTMLLabelElement>) {
    event.preventDefault();
    setDragging(false);
    const file = event.dataTransfer.files[0];
    if (file && !disabled) onPick(file);
  }

  // One <input> in both renders, so the element (and any file already in it) survives hydration.
  const fileInput = (
    <input
      ref={input}
      type="file"
      name={name}
      accept="image/*"
      required={!hydrated}
      disabled={disabled}
      className={
        hydrated
          ? "sr-only"
          : "block w-full text-sm text-muted file:mr-4 file:min-h-11 file:rounded-full file:border-0 file:bg-sand file:px-4 file:text-sm file:font-semibold file:text-ink"
      }
      onChange={(event) => {
        const file = event.target.files?.[0];
        if (file) onPick(file);
      }}
    />
  );

  if (!hydrated) {
    return (
      <label className="flex flex-col gap-3 rounded-2xl border-2 border-dashed border-line bg-cream px-5 py-8">
        {fileInput}
        <span className="text-base font-semibold text-ink">Choose a photo</span>
        <span className="text-sm text-muted">JPEG, PNG, WebP or HEIC, up to 25 MB.</span>
      </label>
    );
  }

  return (
    <label
      onDragOver={(event) => {
        event.preventDefault();
        if (!disabled) setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={handleDrop}
      className={[
        "group relative flex cursor-pointer flex-col items-center justify-center gap-3 overflow-hidden rounded-2xl border-2 border-dashed px-6 text-center transition-colors focus-within:outline-2 focus-within:outline-offset-2 focus-within:outline-ember",
        previewUrl ? "min-h-0 border-transparent bg-sand/60 p-3" : "min-h-56 py-10",
        dragging ? "border-ember bg-ember-soft/40" : previewUrl ? "" : "border-line bg-cream hover:border-ember/60 hover:bg-ember-soft/30",
        disabled ? "pointer-events-none opacity-70" : "",
      ].join(" ")}
    >
      {fileInput}
      {previewUrl && photo ? (
        <>
          {/* A plain <img>: a local blob preview gives next/image nothing to optimise. */}
          <img src={previewUrl} alt="The photo you chose" className="max-h-80 w-auto rounded-xl object-contain shadow-sm" />
          <span className="flex max-w-full items-center gap-2 text-sm text-muted">
            <span className="truncate">{photo.name}</span>
            {!disabled && <span className="shrink-0 font-semibold text-ember-deep underline-offset-4 group-hover:underline">Change</span>}
          </span>
        </>
      ) : (
        <>
          <span aria-hidden className="flex size-14 items-center justify-center rounded-full bg-sand text-ember">
            <PhotoIcon className="size-7" />
          </span>
          <span className="text-base font-semibold text-ink">Choose a photo</span>
          <span className="text-sm text-muted">Tap to pick one, or drop it here. Up to 25 MB.</span>
        </>
      )}
    </label>
  );
}

function useObjectUrl(file: File | null): string | null {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (!file) {
      setUrl(null);
      return;
    }
    const objectUrl = URL.createObjectURL(file);
    setUrl(objectUrl);
    return () => URL.revokeObjectURL(objectUrl);
  }, [file]);
  return url;
}
