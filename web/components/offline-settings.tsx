"use client";

import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";
import { MEDIA_CACHE, PAGES_CACHE, forgetPrivateCaches } from "@/lib/offline-cache";

/** What this device keeps for offline use, and a way to clear it. */
export function OfflineSettings() {
  const [counts, setCounts] = useState<{ pages: number; media: number } | null>(null);

  async function measure() {
    if (typeof caches === "undefined") return;
    const [pages, media] = await Promise.all([caches.open(PAGES_CACHE), caches.open(MEDIA_CACHE)]);
    const pageCount = (await pages.keys()).filter((request) => !new URL(request.url).pathname.startsWith("/api/")).length;
    setCounts({ pages: pageCount, media: (await media.keys()).length });
  }

  useEffect(() => {
    void measure();
  }, []);

  return (
    <div className="flex flex-col gap-3">
      <p className="text-sm leading-relaxed text-muted">
        Pages you open and clips you watch are kept on this device, so they still work without a connection.
        {counts && ` Right now: ${counts.pages} ${counts.pages === 1 ? "page" : "pages"} and ${counts.media} ${counts.media === 1 ? "file" : "files"}.`}
      </p>
      <Button
        variant="secondary"
        size="sm"
        className="self-start"
        onClick={() =>
          void forgetPrivateCaches()
            .then(measure)
            .catch(() => undefined)
        }
      >
        Clear offline copies
      </Button>
    </div>
  );
}
