import type { Metadata } from "next";

import { OfflinePages } from "@/components/offline-pages";
import { SiteFooter } from "@/components/site-footer";
import { SiteHeader } from "@/components/site-header";
import { CloudOffIcon } from "@/components/ui/icons";

export const metadata: Metadata = { title: "You're offline", robots: { index: false } };

/**
 * What the service worker shows for a page it has never seen while there is no connection.
 * Precached with the app shell (its scripts' nonce matches the policy cached with it); it
 * carries no account details.
 */
export default function OfflinePage() {
  return (
    <>
      <SiteHeader />
      <main id="content" className="mx-auto flex w-full max-w-5xl flex-1 flex-col px-5 sm:px-8">
        <div className="flex flex-1 flex-col items-start justify-center gap-5 py-16 sm:items-center sm:text-center" data-testid="offline-page">
          <span aria-hidden className="flex size-16 items-center justify-center rounded-full bg-sand text-ember">
            <CloudOffIcon className="size-8" />
          </span>
          <h1 className="font-display text-4xl text-ink sm:text-5xl">You&apos;re offline</h1>
          <p className="max-w-md text-lg leading-relaxed text-muted">
            This page isn&apos;t saved on your device yet. Pages you&apos;ve opened before and clips you&apos;ve watched still work — and everything else will be back when you reconnect.
          </p>
          <OfflinePages />
        </div>
      </main>
      <SiteFooter />
    </>
  );
}
