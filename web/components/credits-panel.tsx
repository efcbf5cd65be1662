"use client";

import { useCallback, useState } from "react";

import { Button } from "@/components/ui/button";
import { CheckIcon } from "@/components/ui/icons";
import { Notice } from "@/components/ui/notice";
import { ProblemNotice } from "@/components/ui/problem-notice";
import { api, request } from "@/lib/api/client";
import { describeProblem, type ProblemMessage } from "@/lib/api/problems";
import type { CreditEntry, CreditKind, Pack } from "@/lib/api/types";
import { formatDate, formatPrice, plural } from "@/lib/format";
import { publishBalance, useBalance } from "@/lib/balance";
import { useLiveEvents } from "@/lib/live-events";

const KIND_LABEL: Record<CreditKind, string> = {
  purchase: "Bought",
  signup_bonus: "Welcome gift",
  referral: "Referral reward",
  share: "Thanks for sharing",
  generation: "Clip made",
  regeneration: "Clip made again",
  refund: "Refund",
  chargeback: "Payment reversed",
  adjustment: "Adjustment",
};

/** A line about what a pack is enough for, by its size. */
function packHint(credits: number): string {
  if (credits <= 5) return "A few favourite photos";
  if (credits <= 20) return "A family album";
  return "The whole shoebox";
}

/** How long after returning from checkout the page keeps checking for the credits. */
const CONFIRMATION_WINDOW_MS = 2 * 60 * 1000;

interface CreditsPanelProps {
  packs: Pack[];
  demoCheckout: boolean;
  initialBalance: number;
  initialHistory: CreditEntry[];
  /** `success` or `cancelled` when coming back from the payment page. */
  checkout: string | null;
}

/** The balance (live), the packs with their buy buttons, and the history of the ledger. */
export function CreditsPanel({ packs, demoCheckout, initialBalance, initialHistory, checkout }: CreditsPanelProps) {
  const balance = useBalance(initialBalance);
  const [history, setHistory] = useState(initialHistory);
  const [buying, setBuying] = useState<string | null>(null);
  const [problem, setProblem] = useState<ProblemMessage | null>(null);
  const [returnedAt] = useState(() => Date.now());
  const lastPurchase = history.find((entry) => entry.kind === "purchase");
  const purchaseConfirmed = lastPurchase !== undefined && new Date(lastPurchase.createdAt).getTime() > returnedAt - CONFIRMATION_WINDOW_MS;
  const awaitingPayment = checkout === "success" && !purchaseConfirmed && Date.now() - returnedAt < CONFIRMATION_WINDOW_MS;

  const refresh = useCallback(async () => {
    try {
      const credits = await request(() => api.GET("/api/credits", { params: { query: { limit: 10 } } }));
      publishBalance(credits.balance);
      setHistory(credits.items);
    } catch {
      // Keep what is shown; the next event or poll tries again.
    }
  }, []);

  useLiveEvents({
    active: awaitingPayment,
    refresh,
    onEvent: (event) => {
      if (event.type !== "credits.changed") return;
      publishBalance(event.balance);
      void refresh();
    },
  });

  async function buy(pack: Pack) {
    setBuying(pack.id);
    setProblem(null);
    try {
      const started = await request(() => api.POST("/api/credits/checkout", { body: { pack: pack.id } }));
      window.location.assign(started.url);
    } catch (error) {
      setProblem(describeProblem(error));
      setBuying(null);
    }
  }

  return (
    <div className="flex flex-col gap-8">
      <section aria-labelledby="balance-heading" className="flex flex-col gap-3 rounded-3xl bg-ink p-6 text-cream shadow-lift sm:flex-row sm:items-end sm:justify-between sm:p-8">
        <div>
          <h2 id="balance-heading" className="text-sm font-semibold uppercase tracking-[0.16em] text-cream/80">
            Your balance
          </h2>
          <p className="mt-1 font-display text-5xl" data-testid="credits-balance" aria-live="polite">
            {plural(balance, "credit")}
          </p>
        </div>
        <p className="max-w-xs text-sm leading-relaxed text-cream/80">One credit makes one clip. Putting your clips together into a video is free.</p>
      </section>

      {checkout === "success" &&
        (purchaseConfirmed && lastPurchase ? (
          <Notice tone="success">
            <span className="inline-flex items-center gap-2 font-semibold">
              <CheckIcon className="size-4" /> Thank you — {plural(lastPurchase.amount, "credit")} added to your balance.
            </span>
          </Notice>
        ) : (
          <Notice tone="info">Thank you! We&apos;re confirming your payment; your credits appear here the moment it lands.</Notice>
        ))}
      {checkout === "cancelled" && <Notice tone="info">Checkout was cancelled, and nothing was charged.</Notice>}

      <section aria-labelledby="packs-heading" className="flex flex-col gap-4">
        <h2 id="packs-heading" className="font-display text-2xl text-ink">
          Credit packs
        </h2>
        {demoCheckout && <Notice tone="info">This server has no payment provider set up, so checkout is a clearly marked demo: nothing is charged.</Notice>}
        <ul className="grid gap-4 sm:grid-cols-3">
          {packs.map((pack, index) => (
            <li key={pack.id} className={`relative flex flex-col gap-4 rounded-3xl border bg-paper p-5 shadow-soft ${index === 1 ? "border-ember/60" : "border-line/70"}`}>
              <div>
                <h3 className="text-lg font-semibold text-ink">{pack.name}</h3>
                <p className="text-sm text-muted">{packHint(pack.credits)}</p>
                <p className="mt-1 font-display text-4xl text-ink">{formatPrice(pack.priceCents, pack.currency)}</p>
                <p className="mt-1 text-sm text-muted">
                  {plural(pack.credits, "credit")} · {formatPrice(Math.round(pack.priceCents / pack.credits), pack.currency)} a clip
                </p>
              </div>
              <Button onClick={() => void buy(pack)} disabled={buying !== null} variant={index === 1 ? "primary" : "secondary"} block>
                {buying === pack.id ? "Opening checkout…" : `Buy ${plural(pack.credits, "credit")}`}
              </Button>
            </li>
          ))}
        </ul>
        <ProblemNotice problem={problem} />
      </section>

      <section aria-labelledby="history-heading" className="flex flex-col gap-3">
        <h2 id="history-heading" className="font-display text-2xl text-ink">
          History
        </h2>
        {history.length === 0 ? (
          <p className="text-base text-muted">Nothing yet.</p>
        ) : (
          <ul className="divide-y divide-line/70 overflow-hidden rounded-3xl border border-line/70 bg-paper">
            {history.map((entry) => (
              <li key={entry.id} className="flex items-center justify-between gap-4 px-5 py-3.5">
                <div className="min-w-0">
                  <p className="truncate text-base font-medium text-ink">{KIND_LABEL[entry.kind]}</p>
                  <p className="text-sm text-muted">{formatDate(entry.createdAt)}</p>
                </div>
                <div className="text-right">
                  <p className={`text-base font-semibold tabular-nums ${entry.amount >= 0 ? "text-moss" : "text-ink"}`}>
                    {entry.amount > 0 ? "+" : "−"}
                    {Math.abs(entry.amount)}
                  </p>
                  <p className="text-xs text-muted">balance {entry.balanceAfter}</p>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
