"use client";

import { useEffect, useState } from "react";

import { PAGES_CACHE } from "@/lib/offline-cache";

function describe(path: string): string | null {
  if (path === "/") return "Home";
  if (path === "/dashboard") return "My projects";
  if (path === "/credits") return "Credits";
  if (path === "/settings") return "Settings";
  if (path.startsWith("/projects/")) return "A project";
  if (path.startsWith("/v/")) return "A shared video";
  return null;
}

/** Links to the pages this device kept, so the offline page is a way on, not a dead end. */
export function OfflinePages() {
  const [pages, setPages] = useState<{ path: string; label: string }[]>([]);

  useEffect(() => {
    if (typeof caches === "undefined") return;
    void caches
      .open(PAGES_CACHE)
      .then((cache) => cache.keys())
      .then((requests) => {
        const seen = new Set<string>();
        const found: { path: string; label: string }[] = [];
        for (const request of requests) {
          const path = new URL(request.url).pathname;
          const label = describe(path);
          if (label && !seen.has(path)) {
            seen.add(path);
            found.push({ path, label });
          }
        }
        setPages(found);
      });
  }, []);

  if (pages.length === 0) return null;
  return (
    <nav aria-label="Saved on this device" className="flex w-full max-w-md flex-col gap-2 text-left">
      <h2 className="text-sm font-semibold uppercase tracking-[0.14em] text-muted">Saved on this device</h2>
      <ul className="flex flex-col gap-2">
        {pages.map((page) => (
          <li key={page.path}>
            <a href={page.path} className="flex min-h-12 items-center justify-between rounded-2xl border border-line/70 bg-paper px-4 text-base font-medium text-ink hover:border-ember/50">
              {page.label}
              <span className="truncate pl-4 text-sm text-muted">{page.path}</span>
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
