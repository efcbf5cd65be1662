import Link from "next/link";

import { AccountMenu } from "@/components/account-menu";
import { CreditBalance } from "@/components/credit-balance";
import { ButtonLink } from "@/components/ui/button";
import type { Me } from "@/lib/api/types";

interface SiteHeaderProps {
  /** The signed-in person, null for a visitor; leave out for pages that show no account (offline). */
  user?: Me | null;
}

export function SiteHeader({ user }: SiteHeaderProps) {
  return (
    <header className="mx-auto flex w-full max-w-5xl items-center gap-3 px-5 py-4 sm:px-8 sm:py-5">
      <Link href={user ? "/dashboard" : "/"} className="-ml-1 flex items-center gap-2.5 rounded-lg p-1 text-lg font-semibold tracking-tight text-ink">
        <EchoesMark className="size-8" />
        Echoes
      </Link>
      <div className="ml-auto flex items-center gap-2 sm:gap-3">
        {user ? (
          <>
            <Link href="/dashboard" className="hidden rounded-full px-3 py-2 text-sm font-medium text-muted hover:text-ink sm:inline-flex">
              My projects
            </Link>
            <CreditBalance initial={user.creditBalance} />
            <AccountMenu name={user.displayName || user.email} email={user.email} />
          </>
        ) : user === null ? (
          <>
            <Link href="/login" className="inline-flex min-h-11 items-center rounded-full px-3 text-sm font-semibold text-ink hover:text-ember-deep">
              Log in
            </Link>
            <ButtonLink href="/signup" size="sm">
              Sign up
            </ButtonLink>
          </>
        ) : null}
      </div>
    </header>
  );
}

export function EchoesMark({ className }: { className?: string }) {
  return (
    <svg viewBox="0 0 64 64" aria-hidden className={className}>
      <rect width="64" height="64" rx="16" className="fill-ember" />
      <circle cx="32" cy="32" r="7" className="fill-cream" />
      <path d="M19 20.5a16 16 0 0 0 0 23M45 20.5a16 16 0 0 1 0 23" fill="none" strokeWidth="4" strokeLinecap="round" className="stroke-cream" />
    </svg>
  );
}
