"use client";

import { usePathname, useRouter } from "next/navigation";
import { useEffect } from "react";

import { refreshSession } from "@/lib/api/client";

/**
 * Shown by the server when the person's access cookie expired: the server can't renew it (the
 * refresh cookie only ever goes to `/api/auth/refresh`), so the browser does, then renders
 * the page again. When the session is over, it goes to the log-in page, which brings the
 * person back here.
 *
 * `inline` is for the header (a status only screen readers hear); the default fills the page.
 */
export function RenewSession({ inline = false }: { inline?: boolean }) {
  const router = useRouter();
  const pathname = usePathname();

  useEffect(() => {
    let current = true;
    void refreshSession()
      .catch(() => false)
      .then((renewed) => {
        if (!current) return;
        if (renewed) router.refresh();
        else if (pathname !== "/login") router.replace(`/login?next=${encodeURIComponent(pathname + window.location.search)}`);
      });
    return () => {
      current = false;
    };
  }, [router, pathname]);

  if (inline) {
    return (
      <p role="status" className="sr-only">
        Renewing your session…
      </p>
    );
  }
  return (
    <div role="status" className="flex flex-1 flex-col items-center justify-center gap-3 py-24 text-center" data-testid="renew-session">
      <span aria-hidden className="size-8 animate-spin rounded-full border-4 border-sand border-t-ember" />
      <p className="text-base text-muted">Renewing your session…</p>
    </div>
  );
}
