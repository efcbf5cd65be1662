import type { ReactNode } from "react";

import { SiteFooter } from "@/components/site-footer";
import { SiteHeader } from "@/components/site-header";
import { getSession } from "@/lib/api/server";

/** Every page with the account-aware header. */
export default async function SiteLayout({ children }: { children: ReactNode }) {
  // A broken API must not take the header down with it; the page shows its own error.
  const user = await getSession().catch(() => null);
  return (
    <>
      <SiteHeader user={user} />
      <main id="content" className="mx-auto flex w-full max-w-5xl flex-1 flex-col px-5 sm:px-8">
        {children}
      </main>
      <SiteFooter />
    </>
  );
}
