"use client";

import { useState, type FormEvent } from "react";

import { api, request, resetClientState } from "@/lib/api/client";
import { forgetPrivateCaches } from "@/lib/offline-cache";
import { unsubscribeFromPush } from "@/lib/push";

/**
 * Log out. Without JavaScript the form posts to `/logout` (a route handler that logs out on
 * the API and redirects home). With it, this device is also tidied first: its push
 * subscription removed and the pages and media kept for offline use deleted, so the next
 * person on a shared phone sees nothing of the last one's.
 */
export function LogoutForm({ className }: { className?: string }) {
  const [busy, setBusy] = useState(false);

  async function logOut(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = event.currentTarget;
    setBusy(true);
    await unsubscribeFromPush().catch(() => undefined);
    await forgetPrivateCaches().catch(() => undefined);
    try {
      await request(() => api.POST("/api/auth/logout"));
    } catch {
      // Fall back to the server-side route, which also clears the session cookie.
      form.submit();
      return;
    }
    resetClientState();
    window.location.assign("/");
  }

  return (
    <form method="post" action="/logout" onSubmit={logOut}>
      <button type="submit" disabled={busy} className={className}>
        {busy ? "Logging out…" : "Log out"}
      </button>
    </form>
  );
}
