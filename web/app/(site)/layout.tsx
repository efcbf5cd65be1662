import type { ReactNode } from "react";

import { SiteFooter } from "@/components/site-footer";
import { RenewSession } from "@/components/renew-session";
import { SiteHeader } from "@/components/site-header";
import { getSessionState, type SessionState } from "@/lib/api/server";

/** Every page with the account-aware header. */
export default async function SiteLayout({ children }: { children: ReactNode }) {
  // A broken API must not take the header down with it; the page shows its own error.
  const session: SessionState = await getSessionState().catch(() => ({ status: "visitor", user: null }));
  return (
    <>
      <SiteHeader user={session.status === "expired" ? undefined : session.user} />
      {session.status === "expired" && <RenewSession inline />}
      <main id="content" className="mx-auto flex w-full max-w-5xl flex-1 flex-col px-5 sm:px-8">
        {children}
      </main>
      <SiteFooter />
    </>
  );
}
