"use client";

import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";
import { BellIcon } from "@/components/ui/icons";
import { pushState, subscribeToPush, type PushState } from "@/lib/push";

const DECLINED = "echoes:push-declined";

/**
 * "Tell me when it's ready": offered right after the person starts something that takes a
 * while (clips, a video), which is when a notification is worth asking for. Shown only where
 * push works, permission is still open and the person has not said no before.
 */
export function PushPrompt({ what }: { what: string }) {
  const [state, setState] = useState<PushState | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    if (window.localStorage.getItem(DECLINED) === "1") return;
    void pushState().then(setState);
  }, []);

  if (message) {
    return (
      <p role="status" className="rounded-2xl bg-sand/70 px-4 py-3 text-sm text-ink">
        {message}
      </p>
    );
  }
  if (state !== "off") return null;

  async function enable() {
    setBusy(true);
    try {
      const next = await subscribeToPush();
      setState(next);
      setMessage(next === "on" ? `We'll let you know when ${what} ready.` : "Notifications stay off. You can turn them on later in Settings.");
    } catch {
      setMessage("This browser couldn't turn on notifications. You can try again from Settings.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="flex flex-col gap-3 rounded-2xl border border-line/70 bg-sand/60 p-4 sm:flex-row sm:items-center">
      <span aria-hidden className="hidden size-10 shrink-0 items-center justify-center rounded-full bg-paper text-ember sm:flex">
        <BellIcon />
      </span>
      <p className="flex-1 text-sm leading-relaxed text-ink">This takes a few minutes. Want a notification when {what} ready, even if you close this page?</p>
      <div className="flex gap-2">
        <Button size="sm" onClick={() => void enable()} disabled={busy}>
          Notify me
        </Button>
        <Button
          size="sm"
          variant="quiet"
          onClick={() => {
            window.localStorage.setItem(DECLINED, "1");
            setState(null);
          }}
        >
          Not now
        </Button>
      </div>
    </div>
  );
}
