"use client";

import { useEffect } from "react";

import { captureInstallPrompt } from "@/lib/install";

/**
 * Registers the service worker (`public/sw.js`), starts listening for the browser's install
 * offer, and tells the worker about every video that starts playing so it keeps a copy for
 * offline viewing (that is what "clips you've watched play offline" rests on). Renders
 * nothing. The build id in the worker's URL makes each build install a fresh worker.
 */
export function PwaRuntime() {
  useEffect(() => captureInstallPrompt(), []);

  useEffect(() => {
    if (!("serviceWorker" in navigator)) return;
    const version = process.env.NEXT_PUBLIC_BUILD_ID ?? "dev";
    navigator.serviceWorker.register(`/sw.js?v=${encodeURIComponent(version)}`, { scope: "/", updateViaCache: "none" }).catch((error: unknown) => {
      console.warn("Echoes could not set up offline use:", error);
    });

    // Media events do not bubble; listening in the capture phase sees every player on the page.
    const onPlay = (event: Event) => {
      const player = event.target;
      if (!(player instanceof HTMLMediaElement) || !(player instanceof HTMLVideoElement)) return;
      const url = player.currentSrc;
      if (!url || !new URL(url).pathname.startsWith("/media/")) return;
      void navigator.serviceWorker.ready.then((registration) => registration.active?.postMessage({ type: "keep-media", url }));
    };
    document.addEventListener("play", onPlay, true);
    return () => document.removeEventListener("play", onPlay, true);
  }, []);

  return null;
}
