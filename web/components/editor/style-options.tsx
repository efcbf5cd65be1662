"use client";

import type { ProjectStyle, TransitionKind } from "@/lib/api/types";

import { Slider } from "./music-picker";

const TRANSITIONS: { kind: TransitionKind; label: string }[] = [
  { kind: "crossfade", label: "Crossfade" },
  { kind: "fade_black", label: "Fade through black" },
  { kind: "cut", label: "Straight cut" },
  { kind: "slide", label: "Slide" },
  { kind: "wipe", label: "Wipe" },
];

export type EditableStyle = Required<Pick<ProjectStyle, "transition" | "titleCard">>;

/** How clips flow into each other, and an optional opening title. */
export function StyleOptions({ style, onChange }: { style: EditableStyle; onChange: (style: EditableStyle) => void }) {
  const { transition } = style;
  return (
    <div className="flex flex-col gap-5" data-testid="style-options">
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-2 text-sm font-semibold text-ink">Between clips</legend>
        <div className="flex flex-wrap gap-2">
          {TRANSITIONS.map((option) => (
            <label
              key={option.kind}
              className="flex min-h-11 cursor-pointer items-center rounded-full border border-line bg-paper px-4 text-sm font-medium text-ink transition-colors hover:border-ember/50 has-[:checked]:border-ember has-[:checked]:bg-ember-soft/50 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-ember"
            >
              <input
                type="radio"
                name="transition"
                value={option.kind}
                checked={transition.kind === option.kind}
                onChange={() => onChange({ ...style, transition: { kind: option.kind, duration: transition.duration ?? 0.5 } })}
                className="sr-only"
              />
              {option.label}
            </label>
          ))}
        </div>
      </fieldset>
      {transition.kind !== "cut" && (
        <Slider
          id="transition-duration"
          label="Transition length"
          min={0.2}
          max={2}
          step={0.1}
          value={transition.duration ?? 0.5}
          display={`${(transition.duration ?? 0.5).toFixed(1)} s`}
          onChange={(duration) => onChange({ ...style, transition: { ...transition, duration } })}
        />
      )}
      <div className="flex flex-col gap-1.5">
        <label htmlFor="title-card" className="text-sm font-semibold text-ink">
          Opening title <span className="font-normal text-muted">(optional)</span>
        </label>
        <input
          id="title-card"
          value={style.titleCard ?? ""}
          maxLength={120}
          onChange={(event) => onChange({ ...style, titleCard: event.target.value || null })}
          placeholder="For Grandma, with love"
          className="min-h-12 rounded-xl border border-line bg-paper px-4 text-base text-ink shadow-sm outline-none placeholder:text-muted/80 focus:border-ember focus:ring-2 focus:ring-ember/20"
        />
      </div>
    </div>
  );
}
