import { SiteFooter } from "@/components/site-footer";
import { SiteHeader } from "@/components/site-header";
import { ButtonLink } from "@/components/ui/button";

export default function NotFound() {
  return (
    <>
      <SiteHeader />
      <main id="content" className="mx-auto flex w-full max-w-5xl flex-1 flex-col px-5 sm:px-8">
        <div className="flex flex-1 flex-col items-start justify-center gap-5 py-20 sm:items-center sm:text-center">
          <p className="text-sm font-semibold uppercase tracking-[0.18em] text-ember-deep">Not found</p>
          <h1 className="font-display text-4xl text-ink sm:text-5xl">This page has faded away</h1>
          <p className="max-w-md text-lg leading-relaxed text-muted">The link may be old, or the page may have moved. Let&apos;s take you back to the start.</p>
          <ButtonLink href="/">Go to Echoes</ButtonLink>
        </div>
      </main>
      <SiteFooter />
    </>
  );
}
