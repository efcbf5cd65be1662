"use client";

import { useEffect, useState } from "react";

import { pushState, subscribeToPush, unsubscribeFromPush, type PushState } from "@/lib/push";

const EXPLANATION: Record<PushState, string> = {
  unsupported: "This browser can't show notifications from Echoes. On iPhone and iPad, add Echoes to your home screen first.",
  denied: "Notifications are blocked for Echoes in this browser's settings. Allow them there, then come back.",
  off: "Get a notification on this device when your clips or your video are ready.",
  on: "This device gets a notification when your clips or your video are ready.",
};

/** Notifications on this device: on, off, or why they can't be. */
export function PushSettings() {
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    void pushState().then(setState);
  }, []);

  async function toggle(on: boolean) {
    setBusy(true);
    setProblem(null);
    try {
      setState(on ? await subscribeToPush() : await unsubscribeFromPush());
    } catch {
      setProblem(on ? "This browser couldn't turn on notifications. Please try again later." : "We couldn't turn notifications off just now. Please try again.");
      setState(await pushState());
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-col gap-2" data-testid="push-settings" data-state={state ?? "loading"}>
      <label className="flex min-h-11 items-center justify-between gap-4">
        <span className="text-base font-semibold text-ink">Notifications on this device</span>
        <input
          type="checkbox"
          role="switch"
          checked={state === "on"}
          disabled={busy || state === null || state === "unsupported" || state === "denied"}
          onChange={(event) => void toggle(event.target.checked)}
          className="peer sr-only"
        />
        <span
          aria-hidden
          className="relative h-7 w-12 shrink-0 rounded-full bg-line transition-colors peer-checked:bg-ember peer-disabled:opacity-50 peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-ember after:absolute after:left-1 after:top-1 after:size-5 after:rounded-full after:bg-white after:shadow after:transition-transform peer-checked:after:translate-x-5"
        />
      </label>
      <p className="text-sm leading-relaxed text-muted">{state ? EXPLANATION[state] : "Checking…"}</p>
      {problem && (
        <p role="alert" className="text-sm text-ember-deep">
          {problem}
        </p>
      )}
    </div>
  );
}
