"use client";

import Link from "next/link";

import { CoinIcon } from "@/components/ui/icons";
import { api, request } from "@/lib/api/client";
import { publishBalance, useBalance } from "@/lib/balance";
import { useLiveEvents } from "@/lib/live-events";

/** The header's credit balance, kept current by `credits.changed` events. */
export function CreditBalance({ initial }: { initial: number }) {
  const balance = useBalance(initial);

  useLiveEvents({
    active: false,
    onEvent: (event) => {
      if (event.type === "credits.changed") publishBalance(event.balance);
    },
    refresh: async () => {
      try {
        publishBalance((await request(() => api.GET("/api/me"))).creditBalance);
      } catch {
        // The header keeps the last known balance; pages that spend credits show their own errors.
      }
    },
  });

  return (
    <Link
      href="/credits"
      data-testid="credit-balance"
      className="inline-flex min-h-11 items-center gap-1.5 rounded-full border border-line bg-paper px-3.5 text-sm font-semibold text-ink shadow-sm hover:border-ember/50"
    >
      <CoinIcon className="size-[18px] text-ember" />
      <span className="tabular-nums">{balance}</span>
      <span className="sr-only sm:not-sr-only">{balance === 1 ? "credit" : "credits"}</span>
    </Link>
  );
}
