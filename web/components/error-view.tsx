"use client";

import { useEffect } from "react";

import { Button } from "@/components/ui/button";

/** What an error boundary shows: calm words and a way to try again. */
export function ErrorView({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  useEffect(() => {
    console.error(error);
  }, [error]);

  return (
    <div role="alert" className="flex flex-1 flex-col items-start justify-center gap-5 py-20 sm:items-center sm:text-center">
      <p className="text-sm font-semibold uppercase tracking-[0.18em] text-ember-deep">Something went wrong</p>
      <h1 className="font-display text-4xl text-ink sm:text-5xl">We lost our place for a moment</h1>
      <p className="max-w-md text-lg leading-relaxed text-muted">Something on this page didn&apos;t load as it should. Trying again usually helps.</p>
      {error.digest && <p className="text-sm text-muted">Reference: {error.digest}</p>}
      <Button onClick={reset}>Try again</Button>
    </div>
  );
}
