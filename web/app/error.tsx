"use client";

import { ErrorView } from "@/components/error-view";
import { SiteHeader } from "@/components/site-header";

/** The error boundary for everything below the root layout (the site layout included). */
export default function ErrorPage(props: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <>
      <SiteHeader />
      <main id="content" className="mx-auto flex w-full max-w-5xl flex-1 flex-col px-5 sm:px-8">
        <ErrorView {...props} />
      </main>
    </>
  );
}
