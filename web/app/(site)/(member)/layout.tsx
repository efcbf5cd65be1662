import { headers } from "next/headers";
import type { ReactNode } from "react";

import { RenewSession } from "@/components/renew-session";
import { requireUser } from "@/lib/api/server";
import { PATH_HEADER } from "@/lib/request-path";

/**
 * Pages for signed-in people. Checking here, before any page streams its loading skeleton,
 * lets a visitor get a real redirect to the log-in page (which brings them back afterwards).
 */
export default async function MemberLayout({ children }: { children: ReactNode }) {
  const user = await requireUser((await headers()).get(PATH_HEADER) ?? "/dashboard");
  return user ? children : <RenewSession />;
}
