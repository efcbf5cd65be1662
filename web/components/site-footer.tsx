import Link from "next/link";

export function SiteFooter() {
  return (
    <footer className="mx-auto mt-8 flex w-full max-w-5xl flex-col gap-3 border-t border-line/70 px-5 pb-[max(2.5rem,env(safe-area-inset-bottom))] pt-6 text-sm text-muted sm:flex-row sm:items-center sm:justify-between sm:px-8">
      <p>Your photos stay yours: free clips not saved to an account are deleted after 24 hours.</p>
      <nav aria-label="Footer" className="flex gap-5">
        <Link href="/" className="hover:text-ink">
          Home
        </Link>
        <Link href="/credits" className="hover:text-ink">
          Pricing
        </Link>
        <Link href="/settings" className="hover:text-ink">
          Settings
        </Link>
      </nav>
    </footer>
  );
}
